/**
 * The versus-kolla bench only means something when both tools build the same thing: the same images,
 * from the same Dockerfiles. Two things may differ and are set aside: the run's tag (each run has its
 * own) and the bench's own marker step in the base image (each tool its own value, so none reuses another's).
 */
import { readFileSync } from 'node:fs';
import { REPOSITORY_BACKUP_DIR } from '../../src/repos/inject.js';
import type { Measurement } from './runners.js';

const BENCH_MARKER_LINE = /^RUN echo .* > \/etc\/ci-builder-bench-run$/gm;

function normalized(file: string, tag: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replaceAll(`:${tag}`, ':<tag>')
    .replace(BENCH_MARKER_LINE, 'RUN <the bench marker, per tool>')
    .trimEnd();
  // Blank lines are not instructions: a filled template block and ci-builder's inserted steps leave different ones.
  return withoutPackageCacheSteps(text.split('\n')).filter((line) => line.trim() !== '');
}

/** Dockerfile lines joined across backslash continuations, as the builder reads instructions. */
export function instructions(lines: readonly string[]): string[] {
  const logical: string[] = [];
  for (const line of lines) {
    const last = logical.length - 1;
    if (last >= 0 && logical[last]?.endsWith('\\')) logical[last] = `${logical[last]}\n${line}`;
    else logical.push(line);
  }
  return logical;
}

/** ci-builder's setup or restore step of the image's package sources (src/repos/inject.ts). */
export const isPackageStep = (line: string | undefined): boolean =>
  line !== undefined && line.startsWith('RUN set -e;') && line.includes(REPOSITORY_BACKUP_DIR);

/**
 * ci-builder's package cache adds a step after each FROM and one at the end that point the image's package
 * sources at the run's proxy and put them back (wrapped in `USER root` ... `USER <user>` for a non-root
 * image): build plumbing, not the image's content, so set aside as the tag is.
 */
function withoutPackageCacheSteps(lines: readonly string[]): string[] {
  const logical = instructions(lines);
  const kept: string[] = [];
  for (let index = 0; index < logical.length; index++) {
    const line = logical[index] ?? '';
    if (!isPackageStep(line)) {
      kept.push(line);
      continue;
    }
    if (kept.at(-1) === 'USER root' && logical[index + 1]?.startsWith('USER ')) {
      kept.pop();
      index++;
    }
  }
  return kept.flatMap((line) => line.split('\n'));
}

/** One line per material difference between two runs' Dockerfiles; empty when they built the same. */
export function dockerfileDifferences(a: Measurement, b: Measurement): string[] {
  const differences: string[] = [];
  const images = [...new Set([...a.dockerfiles.keys(), ...b.dockerfiles.keys()])].sort();
  for (const image of images) {
    const [fileA, fileB] = [a.dockerfiles.get(image), b.dockerfiles.get(image)];
    // ci-builder writes no Dockerfile for an image it reused; whether both covered it is selectionDifference's.
    if (fileA === undefined || fileB === undefined) continue;
    const [linesA, linesB] = [normalized(fileA, a.tag), normalized(fileB, b.tag)];
    const line = linesA.findIndex((text, index) => text !== linesB[index]);
    const at = line === -1 && linesA.length !== linesB.length ? Math.min(linesA.length, linesB.length) : line;
    if (at !== -1) {
      const quote = (text: string | undefined) => JSON.stringify(text ?? '<end of file>');
      differences.push(`${image} line ${at + 1}: ${a.tool} ${quote(linesA[at])}, ${b.tool} ${quote(linesB[at])}`);
    }
  }
  return differences;
}

/** What a run made available: built, or (ci-builder) found at its input digest. */
export function imagesOf(run: Measurement): string[] {
  return [...run.built, ...run.reused].sort();
}

/** A difference in selection: the two runs did not cover the same images. */
export function selectionDifference(a: Measurement, b: Measurement): string | null {
  const [setA, setB] = [imagesOf(a), imagesOf(b)];
  const onlyA = setA.filter((name) => !setB.includes(name));
  const onlyB = setB.filter((name) => !setA.includes(name));
  if (onlyA.length === 0 && onlyB.length === 0) return null;
  return `${a.tool} only: ${onlyA.join(' ') || '-'}; ${b.tool} only: ${onlyB.join(' ') || '-'}`;
}
