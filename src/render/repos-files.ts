import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../util/errors.js';
import { isPlainObject } from '../util/plain-object.js';
import type { KollaRenderRules } from '../kolla/render-rules.js';
import { mergeReposFiles, type ReposSource } from './kolla-repos.js';
import type { ReposData } from './repos-data.js';

/**
 * Where an upstream Kolla checkout keeps the repos.yaml its image tree's handle_repos reads,
 * relative to the tree's parent: older checkouts have `docker/` at the top, newer ones
 * `kolla/docker/` beside `kolla/template/`.
 */
const KOLLA_REPOS_YAML = ['kolla/template/repos.yaml', 'template/repos.yaml'];

/**
 * The repos.yaml data for handle_repos: the configured files, or else the one an upstream
 * Kolla checkout has beside its image tree, so `--images-dir kolla/docker` renders as is.
 */
export function loadReposSource(configured: readonly string[], trees: readonly string[]): ReposSource | undefined {
  const files = configured.length > 0 ? configured : beside(trees);
  if (files.length === 0) return undefined;
  return mergeReposFiles(files.map(readReposFile));
}

/**
 * The repos.yaml data of a Kolla release for one distro: Kolla's own file (or the variant the release
 * picks for the base tag), which an operator's file replaces on older releases and updates on newer ones.
 */
export function loadKollaReposSource(
  rules: KollaRenderRules,
  configured: readonly string[],
  distro: string,
  baseTag: string,
): ReposSource {
  const own = rules.reposFile(distro, baseTag);
  if (rules.reposDialect === 'current') return mergeReposFiles([own, ...configured].map(readReposFile));
  const [chosen = own] = configured;
  return { base: readReposData(chosen), overridden: undefined, dialect: rules.reposDialect };
}

function beside(trees: readonly string[]): string[] {
  const found = trees
    .flatMap((tree) => KOLLA_REPOS_YAML.map((path) => join(dirname(tree), path)))
    .find((file) => existsSync(file));
  return found === undefined ? [] : [found];
}

/** A repos file as the older releases read it: any mapping of sections, entries as they are. */
function readReposData(file: string): ReposData {
  const data = parseReposText(file);
  if (!isPlainObject(data)) throw new UsageError(`${file}: (top level): expected a mapping of sections`);
  return data as ReposData;
}

function parseReposText(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: repos.yaml file not found (build.repos_yaml)`);
  }
  try {
    // YAML 1.1 as PyYAML reads it, so `yes`/`no` mean what they mean to kolla-build.
    return parse(text, { version: '1.1' }) as unknown;
  } catch (error) {
    throw new UsageError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

function readReposFile(file: string): ReposData {
  const data = parseReposText(file);
  if (!isPlainObject(data))
    throw new UsageError(`${file}: (top level): expected a mapping of sections (deb, debian, rpm, rocky, …)`);
  for (const [section, repos] of Object.entries(data)) {
    if (repos === null) {
      data[section] = {};
      continue;
    }
    if (!isPlainObject(repos)) throw new UsageError(`${file}: ${section}: expected a mapping of repository names`);
    for (const [name, info] of Object.entries(repos)) {
      if (!isPlainObject(info))
        throw new UsageError(`${file}: ${section}.${name}: expected a mapping (url, suite, … or distro: true)`);
    }
  }
  return data as ReposData;
}
