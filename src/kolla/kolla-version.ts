import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGitHistory, repositoryAt, type GitRead } from '../util/read-git.js';
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

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function versionFromGit(git: GitRead): KollaVersion {
  const exact = git(['describe', '--exact-match']);
  const target = exact === null || exact === '' ? null : parsePipVersion(exact.replace(/-/g, '.'));
  const log = git(['log', '--decorate=full', '--format=%h%x00%s%x00%d']) ?? '';
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
    const range = lastTag === null ? 'HEAD' : `${realTagName(git, lastTag)}..HEAD`;
    version = incrementVersion(last, semVerBump(git(['log', '--pretty=%B', range]) ?? ''));
  }
  if (target !== null && compareVersions(version, target) > 0) {
    return { source: 'none', reason: `git history asks for ${briefVersion(version)} but HEAD is tagged ${exact}` };
  }
  return { source: 'git', version: briefVersion(distance === 0 ? last : version), lastTag, commitsSinceTag: distance };
}

function realTagName(git: GitRead, dotted: string): string {
  const names = (git(['tag', '--list']) ?? '').split('\n');
  return names.find((name) => name.replace(/-/g, '.') === dotted) ?? dotted;
}

function versionFromPkgInfo(dir: string): string | null {
  const text = readOrNull(join(dir, 'PKG-INFO'));
  if (text === null || !/^Name:\s*kolla\s*$/m.test(text)) return null;
  return /^Version:\s*(\S+)\s*$/m.exec(text)?.[1] ?? null;
}

/**
 * The checkout's version as kolla-build would compute it running from `dir` with environment `env`. Only the
 * checkout's own git history counts: one exported into some other repository's folder has none (that
 * repository's tags say nothing about Kolla's version). Its git config is never read (util/read-git.ts).
 */
export function kollaVersion(dir: string, env: NodeJS.ProcessEnv): KollaVersionInfo {
  const repository = repositoryAt(dir);
  if (repository === null) return versionInfo(dir, env, null);
  return readGitHistory(repository, (git) => versionInfo(dir, env, git));
}

function versionInfo(dir: string, env: NodeJS.ProcessEnv, git: GitRead | null): KollaVersionInfo {
  const gitShortSha = git === null ? null : git(['log', '-n1', '--pretty=format:%h']) || null;
  const version = resolveVersion(dir, env, git);
  const templateValue = gitShortSha ?? (version.source === 'none' ? null : version.version);
  return { version, gitShortSha, templateValue };
}

function resolveVersion(dir: string, env: NodeJS.ProcessEnv, git: GitRead | null): KollaVersion {
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
  if (git !== null) return versionFromGit(git);
  return {
    source: 'none',
    reason:
      `${dir} has no git metadata (.git) and no PKG-INFO, and PBR_VERSION is not set: ` +
      'kolla-build cannot tell its version; set PBR_VERSION',
  };
}
