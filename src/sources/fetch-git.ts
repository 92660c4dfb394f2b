import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFailure, runProcess, type ProcessResult } from '../util/process.js';
import { errorMessage } from '../util/errors.js';
import { sha256Hex } from '../util/hash.js';
import { createNormalisedTar } from './tar.js';
import { stripUserinfo } from '../util/url-login.js';
import { SourceError } from './types.js';

export interface GitSourceRequest {
  section: string;
  location: string;
  reference: string;
  /** The host-wide cache: clones are kept under `<cacheDir>/sources/git/`. */
  cacheDir: string;
  /** An empty scratch folder for the checkout. */
  workDir: string;
  /** Where the tar goes. */
  target: string;
  /** How long an http(s) transfer may run below one byte a second. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GitArchive {
  /** The commit the reference resolved to. */
  commit: string;
  /** The tar's single top folder, `<section>-archive-<reference with / as ->`. */
  topName: string;
}

/** The same folder name kolla-build gives a git checkout inside the build context. */
export function gitTopFolder(section: string, reference: string): string {
  return `${section}-archive-${reference.replaceAll('/', '-')}`;
}

/**
 * Checks out `reference` of a git source and packs the checkout, .git folder included
 * (PBR and similar tools read the version from it), without the `origin` remote.
 */
export async function fetchGitArchive(request: GitSourceRequest): Promise<GitArchive> {
  const { section, reference } = request;
  if (reference === '' || reference.startsWith('-'))
    throw new SourceError(section, `git reference "${reference}" is not a branch, tag or commit`);
  const mirror = await updateMirror(request);

  const topName = gitTopFolder(section, reference);
  const checkout = join(request.workDir, topName);
  // Cloned from the cached mirror, so the location (and any login in it) never reaches the
  // checkout's .git/config; the remote is removed anyway, as kolla-build does.
  await git(request, 'cloning the cached clone', ['clone', '--quiet', '--no-checkout', '--', mirror, checkout]);
  const checkedOut = await runGit(['-C', checkout, 'checkout', '--quiet', reference, '--'], request);
  if (checkedOut.exitCode !== 0) {
    throw new SourceError(
      section,
      `reference ${reference} not found in ${stripUserinfo(request.location)} (${describeFailure('git checkout', checkedOut)})`,
    );
  }
  await git(request, 'removing the origin remote', ['-C', checkout, 'remote', 'remove', 'origin']);
  const commit = (
    await git(request, 'resolving the checked out commit', ['-C', checkout, 'rev-parse', '--verify', 'HEAD'], true)
  ).stdout.trim();

  try {
    await createNormalisedTar({ parentDir: request.workDir, topName, target: request.target, signal: request.signal });
  } catch (error) {
    throw new SourceError(section, `packing the checkout failed: ${errorMessage(error)}`);
  }
  return { commit, topName };
}

/** One update of a cached clone at a time in this process: two fetches into one repository race for its ref locks. */
const mirrorQueues = new Map<string, Promise<unknown>>();

/**
 * A bare clone per location is kept in the cache and only fetched into on later runs: a large
 * repository (a whole OpenStack project) then costs its new commits, not a full clone per build.
 */
async function updateMirror(request: GitSourceRequest): Promise<string> {
  const mirror = join(request.cacheDir, 'sources', 'git', sha256Hex(request.location));
  const previous = mirrorQueues.get(mirror) ?? Promise.resolve();
  const update = previous
    .catch(() => undefined)
    .then(() => (existsSync(mirror) ? fetchInto(mirror, request) : cloneMirror(mirror, request)));
  mirrorQueues.set(mirror, update);
  try {
    await update;
  } finally {
    if (mirrorQueues.get(mirror) === update) mirrorQueues.delete(mirror);
  }
  return mirror;
}

async function cloneMirror(mirror: string, request: GitSourceRequest): Promise<void> {
  await mkdir(join(mirror, '..'), { recursive: true });
  // Cloned beside its final name and renamed, so an interrupted clone never passes for a cache.
  const partial = await mkdtemp(`${mirror}.partial-`);
  try {
    const clone = join(partial, 'repo');
    await git(request, 'cloning', ['clone', '--quiet', '--bare', '--', request.location, clone]);
    // A bare clone fetches nothing by itself later; branches and tags are what a reference names.
    await git(request, 'configuring the cached clone', [
      '--git-dir',
      clone,
      'config',
      'remote.origin.fetch',
      '+refs/heads/*:refs/heads/*',
    ]);
    await git(request, 'configuring the cached clone', [
      '--git-dir',
      clone,
      'config',
      '--add',
      'remote.origin.fetch',
      '+refs/tags/*:refs/tags/*',
    ]);
    await rename(clone, mirror);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

async function fetchInto(mirror: string, request: GitSourceRequest): Promise<void> {
  await git(request, 'fetching', ['--git-dir', mirror, 'fetch', '--quiet', '--prune', 'origin']);
}

function runGit(args: readonly string[], request: GitSourceRequest, captureStdout = false): Promise<ProcessResult> {
  const stallSeconds = String(Math.max(1, Math.round(request.timeoutMs / 1000)));
  return runProcess('git', ['-c', 'http.lowSpeedLimit=1', '-c', `http.lowSpeedTime=${stallSeconds}`, ...args], {
    // Never wait for a password on a terminal nobody watches.
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    signal: request.signal,
    captureStdout,
  });
}

async function git(
  request: GitSourceRequest,
  what: string,
  args: readonly string[],
  captureStdout = false,
): Promise<ProcessResult> {
  const result = await runGit(args, request, captureStdout);
  if (result.exitCode !== 0)
    throw new SourceError(
      request.section,
      `${what} failed (${stripUserinfo(request.location)}): ${describeFailure('git', result)}`,
    );
  return result;
}
