import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import {
  briefVersion,
  compareVersions,
  incrementVersion,
  parsePipVersion,
  semVerBump,
  versionTagsOfLogLine,
  type PipVersion,
} from './pbr-version.js';

/** Where a checkout's version came from, or why there is none. */
export type KollaVersion =
  | { source: 'environment'; variable: 'PBR_VERSION' | 'OSLO_PACKAGE_VERSION'; version: string }
  | { source: 'pkg-info'; version: string }
  | { source: 'git'; version: string; lastTag: string | null; commitsSinceTag: number }
  | { source: 'none'; reason: string };

export interface KollaVersionInfo {
  version: KollaVersion;
  /** `git log -n1 --pretty=format:%h` of the checkout's own .git; null when it has none. */
  gitShortSha: string | null;
  /**
   * What templates get as `kolla_version`: the short sha when the checkout is a git work tree, else the
   * version; null when neither can be told (kolla-build itself stops then).
   */
  templateValue: string | null;
}

function git(args: string[], cwd: string): string | null {
  try {
    const stdout = execFileSync('git', args, {
      cwd,
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return stdout.trim();
  } catch {
    return null;
  }
}

/**
 * Whether `dir` is the top of a git work tree. A checkout exported into some other repository's folder
 * has no history of its own: the enclosing repository's tags say nothing about Kolla's version.
 */
function isGitTopLevel(dir: string): boolean {
  const top = git(['rev-parse', '--show-toplevel'], dir);
  if (top === null || top === '') return false;
  return realpathOr(top) === realpathOr(dir);
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function versionFromGit(dir: string): KollaVersion | null {
  if (!isGitTopLevel(dir)) return null;
  const exact = git(['describe', '--exact-match'], dir);
  const target = exact === null || exact === '' ? null : parsePipVersion(exact.replace(/-/g, '.'));
  const log = git(['log', '--decorate=full', '--format=%h%x00%s%x00%d'], dir) ?? '';
  let lastTag: string | null = null;
  let distance = 0;
  for (const [row, line] of log.split('\n').entries()) {
    const parts = line.split('\u0000');
    if (parts.length !== 3) continue;
    const tags = versionTagsOfLogLine(parts[2] ?? '');
    if (tags.length === 0) continue;
    lastTag = tags.reduce((best, tag) =>
      compareVersions(parsePipVersion(tag)!, parsePipVersion(best)!) > 0 ? tag : best,
    );
    distance = row;
    break;
  }
  if (lastTag === null) distance = Math.max(0, log.split('\n').filter((line) => line.includes('\u0000')).length - 1);
  const last: PipVersion = parsePipVersion(lastTag ?? '0')!;
  let version = last;
  if (distance > 0) {
    // pbr reads the tag back with dots; git knows it by its real name, which may have dashes.
    const range = lastTag === null ? 'HEAD' : `${realTagName(dir, lastTag)}..HEAD`;
    version = incrementVersion(last, semVerBump(git(['log', '--pretty=%B', range], dir) ?? ''));
  }
  if (target !== null && compareVersions(version, target) > 0) {
    return { source: 'none', reason: `git history asks for ${briefVersion(version)} but HEAD is tagged ${exact}` };
  }
  return { source: 'git', version: briefVersion(distance === 0 ? last : version), lastTag, commitsSinceTag: distance };
}

function realTagName(dir: string, dotted: string): string {
  const names = (git(['tag', '--list'], dir) ?? '').split('\n');
  return names.find((name) => name.replace(/-/g, '.') === dotted) ?? dotted;
}

function versionFromPkgInfo(dir: string): string | null {
  const text = readOrNull(join(dir, 'PKG-INFO'));
  if (text === null || !/^Name:\s*kolla\s*$/m.test(text)) return null;
  return /^Version:\s*(\S+)\s*$/m.exec(text)?.[1] ?? null;
}

/** The checkout's version as kolla-build would compute it running from `dir` with environment `env`. */
export function kollaVersion(dir: string, env: NodeJS.ProcessEnv): KollaVersionInfo {
  const ownGit = isGitTopLevel(dir);
  const gitShortSha = ownGit ? git(['log', '-n1', '--pretty=format:%h'], dir) || null : null;
  const version = resolveVersion(dir, env);
  const templateValue = gitShortSha ?? (version.source === 'none' ? null : version.version);
  return { version, gitShortSha, templateValue };
}

function resolveVersion(dir: string, env: NodeJS.ProcessEnv): KollaVersion {
  for (const variable of ['PBR_VERSION', 'OSLO_PACKAGE_VERSION'] as const) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const parsed = parsePipVersion(value);
    if (parsed === null) return { source: 'none', reason: `${variable}=${value} is not a version pbr accepts` };
    return { source: 'environment', variable, version: briefVersion(parsed) };
  }
  const packaged = versionFromPkgInfo(dir);
  const parsedPackaged = packaged === null ? null : parsePipVersion(packaged);
  if (parsedPackaged !== null) return { source: 'pkg-info', version: briefVersion(parsedPackaged) };
  const fromGit = versionFromGit(dir);
  if (fromGit !== null) return fromGit;
  return {
    source: 'none',
    reason:
      `${dir} has no git metadata (.git) and no PKG-INFO, and PBR_VERSION is not set: ` +
      'kolla-build cannot tell its version; set PBR_VERSION',
  };
}
