import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readInputTextSync } from './read-input.js';

/**
 * Reading the history of a repository someone else made (a Kolla checkout) with git, and running nothing
 * else. A repository's own config can make git run programs while it merely reads: `log.showSignature`
 * with `gpg.program`, `core.fsmonitor`, `core.pager`, `diff.external`, and more in each release of git.
 * So git never sees that config: it runs over a private git folder that holds a copy of HEAD, links to the
 * repository's objects and refs, and a config of our own with only the keys that say how to read them;
 * system and global config are off, and so is every GIT_* variable of ours.
 */

export interface GitRepository {
  /** The repository's own git folder (a worktree's has HEAD and points to the common one). */
  gitDir: string;
  /** Where objects, refs and config live. */
  commonDir: string;
}

/** Runs one read-only git command; its output, or null when git failed. */
export type GitRead = (args: readonly string[]) => string | null;

const SMALL_FILE = { what: 'git metadata file', maxBytes: 64 * 1024 };

function readSmall(file: string): string | null {
  try {
    return readInputTextSync(file, SMALL_FILE);
  } catch {
    return null;
  }
}

/** The repository whose work tree has its top at `dir` (a `.git` folder, or a `.git` file naming one); null if none. */
export function repositoryAt(dir: string): GitRepository | null {
  const dotGit = join(dir, '.git');
  let gitDir: string;
  try {
    const stats = statSync(dotGit);
    if (stats.isDirectory()) gitDir = dotGit;
    else {
      const named = /^gitdir: (.+)$/m.exec(readSmall(dotGit) ?? '')?.[1];
      if (named === undefined) return null;
      gitDir = resolve(dir, named.trim());
    }
  } catch {
    return null;
  }
  if (!existsSync(join(gitDir, 'HEAD'))) return null;
  const common = readSmall(join(gitDir, 'commondir'));
  return { gitDir, commonDir: common === null ? gitDir : resolve(gitDir, common.trim()) };
}

/** The repository `dir` is in, found as git finds it: the nearest folder up from it that has a `.git`. */
export function repositoryAbove(dir: string): GitRepository | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const found = repositoryAt(current);
    if (found !== null || dirname(current) === current) return found;
  }
}

/** What the private folder links to, when the repository has it. */
const SHARED_ENTRIES = ['objects', 'refs', 'packed-refs', 'shallow', 'reftable'];
/** The repository config keys that say how its objects and refs are stored and shown; nothing else is read. */
const LAYOUT_KEYS = /^(core\.(repositoryformatversion|abbrev)|extensions\.(objectformat|refstorage))$/;
const GIT_TIMEOUT_MS = 120_000;

function gitEnvironment(privateDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    HOME: privateDir,
    GIT_DIR: privateDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_SYSTEM: '/dev/null',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_LAZY_FETCH: '1',
  };
}

function runGit(privateDir: string, args: readonly string[]): string | null {
  try {
    return execFileSync('git', ['--no-pager', ...args], {
      cwd: privateDir,
      env: gitEnvironment(privateDir),
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: GIT_TIMEOUT_MS,
    }).trim();
  } catch {
    return null;
  }
}

/** The layout keys of the repository's config, as git itself reads them from that file alone. */
function layoutConfig(privateDir: string, repository: GitRepository): string {
  const file = join(repository.commonDir, 'config');
  const listed = existsSync(file) ? runGit(privateDir, ['config', '--file', file, '--null', '--list']) : null;
  const lines = (listed ?? '')
    .split('\0')
    .map((entry) => entry.split('\n'))
    .filter(([key, value]) => key !== undefined && LAYOUT_KEYS.test(key) && /^[A-Za-z0-9._-]+$/.test(value ?? ''))
    .map(([key = '', value = '']) => {
      const dot = key.indexOf('.');
      return `[${key.slice(0, dot)}]\n\t${key.slice(dot + 1)} = ${value}\n`;
    });
  return lines.join('');
}

/** Runs `read` with a git over `repository` that sees none of its config; the private folder is gone after. */
export function readGitHistory<T>(repository: GitRepository, read: (git: GitRead) => T): T {
  const head = readSmall(join(repository.gitDir, 'HEAD'));
  if (head === null) return read(() => null);
  const privateDir = mkdtempSync(join(tmpdir(), 'ci-builder-git-'));
  try {
    writeFileSync(join(privateDir, 'HEAD'), head);
    for (const entry of SHARED_ENTRIES) {
      const target = join(repository.commonDir, entry);
      if (exists(target)) symlinkSync(target, join(privateDir, entry));
    }
    writeFileSync(join(privateDir, 'config'), layoutConfig(privateDir, repository));
    return read((args) => runGit(privateDir, args));
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
