import { lstatSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { judgeLink, linkProblemText, realFolder } from '../catalog/tree-links.js';
import { UsageError } from '../util/errors.js';
import { MiB, readInputText } from '../util/read-input.js';

const OVERRIDE_LIMITS = { what: 'template override', maxBytes: 4 * MiB };

/**
 * A template override file's text. It is rendered into every Dockerfile, so it is held to the image
 * trees' rule: a symlink is followed only while it stays in the folder the override is named in (an
 * override linked to a secrets file elsewhere on the host would put that file into images).
 */
export async function readOverrideFile(file: string): Promise<string> {
  const path = resolve(file);
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    throw new UsageError(`${file}: template override file not found`);
  }
  if (!isLink) return readInputText(path, OVERRIDE_LIMITS);
  const verdict = judgeLink(path, [], realFolder(dirname(path)));
  if (verdict.kind === 'refused')
    throw new UsageError(`${file}: ${linkProblemText(verdict.problem, basename(path), path, 'its folder')}`);
  // The checked real path is what is read, so the link cannot change between check and read.
  return readInputText('realPath' in verdict ? verdict.realPath : path, OVERRIDE_LIMITS);
}
