import { describeFailure, runProcess } from '../util/process.js';

/**
 * Equal input gives equal bytes: owners, times and member order say nothing about the
 * content, so they are fixed. Mode bits are kept as found, they do matter in an image.
 */
const NORMALISED = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu'];

/** The C locale keeps tar's listings and messages in one spelling, whatever the host's language. */
const TAR_ENV: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };

export interface TarMember {
  /** As tar lists it (non-printable characters escaped), without a leading `./` or trailing `/`. */
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Symlinks and hard links: what they point at. */
  linkTarget?: string;
}

async function tar(args: readonly string[], signal?: AbortSignal): Promise<void> {
  const result = await runProcess('tar', args, { env: TAR_ENV, signal });
  if (result.exitCode !== 0) throw new Error(describeFailure('tar', result));
}

/**
 * Writes `<parentDir>/<topName>` as a tar whose single top folder is `topName`.
 * `exclude` names members (from the top folder on, taken literally) to leave out.
 */
export async function createNormalisedTar(options: {
  parentDir: string;
  topName: string;
  target: string;
  exclude?: readonly string[];
  signal?: AbortSignal;
}): Promise<void> {
  const exclude = (options.exclude ?? []).map((name) => `--exclude=${name}`);
  const filters = exclude.length > 0 ? ['--anchored', '--no-wildcards', ...exclude] : [];
  await tar(
    [
      '--create',
      '--file',
      options.target,
      ...NORMALISED,
      ...filters,
      '--directory',
      options.parentDir,
      '--',
      options.topName,
    ],
    options.signal,
  );
}

/** The members of a tar (compressed or not), or undefined when the file is not a tar at all. */
export async function listMembers(file: string, signal?: AbortSignal): Promise<TarMember[] | undefined> {
  const list = (verbose: boolean) =>
    runProcess(
      'tar',
      ['--list', ...(verbose ? ['--verbose', '--numeric-owner'] : []), '--quoting-style=escape', '--file', file],
      { env: TAR_ENV, signal, captureStdout: true },
    );
  const plain = await list(false);
  if (plain.exitCode !== 0) return undefined;
  const names = lines(plain.stdout);
  // An empty file lists as an empty archive, but nobody means an empty file as a tar.
  if (names.length === 0) return undefined;
  // The verbose listing tells the member types and link targets, in the same order; the
  // plain one tells where each name ends, which the verbose line alone leaves ambiguous.
  const verbose = await list(true);
  const details = lines(verbose.stdout);
  if (verbose.exitCode !== 0 || details.length !== names.length)
    throw new Error('tar could not list the members with their types');
  return names.map((name, index) => describeMember(name, details[index] ?? ''));
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function describeMember(name: string, detail: string): TarMember {
  const normalised = normaliseName(name);
  const type = detail[0];
  if (type === 'd') return { name: normalised, kind: 'directory' };
  if (type === '-') return { name: normalised, kind: 'file' };
  if (type !== 'l' && type !== 'h') return { name: normalised, kind: 'other' };
  // The fields before the name (mode, owner, size, date) never hold ` -> ` or ` link to `.
  const marker = ` ${name}${type === 'l' ? ' -> ' : ' link to '}`;
  const at = detail.indexOf(marker);
  if (at < 0) throw new Error(`tar listed ${name} in a form that could not be read`);
  return {
    name: normalised,
    kind: type === 'l' ? 'symlink' : 'hardlink',
    linkTarget: detail.slice(at + marker.length),
  };
}

function normaliseName(name: string): string {
  return name
    .replace(/^(\.\/)+/, '')
    .replace(/\/+/g, '/')
    .replace(/\/$/, '');
}

/** Absolute, or with a `..` component: GNU tar would strip or skip it, we refuse the whole archive instead. */
function leavesFolder(name: string): boolean {
  return name.startsWith('/') || name.split('/').includes('..');
}

function ancestors(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(1).map((_, index) => parts.slice(0, index + 1).join('/'));
}

/**
 * Why an archive may not be extracted into a folder shared with other archives, or undefined.
 * Besides names that leave the folder, a member may not sit below a symlink (from this
 * archive or one extracted before): writing through it could land anywhere on the host.
 */
export function findUnsafeMember(
  members: readonly TarMember[],
  symlinksBefore: ReadonlySet<string>,
): string | undefined {
  const symlinks = new Set(symlinksBefore);
  for (const member of members) if (member.kind === 'symlink') symlinks.add(member.name);
  for (const member of members) {
    if (leavesFolder(member.name)) return `unsafe member name ${member.name}`;
    if (member.kind === 'hardlink' && leavesFolder(member.linkTarget ?? ''))
      return `member ${member.name} links to ${member.linkTarget ?? ''} outside the archive`;
    const through = ancestors(member.name).find((ancestor) => symlinks.has(ancestor));
    if (through !== undefined) return `member ${member.name} would be written through the symlink ${through}`;
    if (member.kind === 'directory' && symlinksBefore.has(member.name))
      return `member ${member.name} would replace the symlink of an earlier archive`;
  }
  return undefined;
}

/** Extracts with the archive's mode bits but owned by whoever runs the build. */
export async function extractTar(file: string, into: string, signal?: AbortSignal): Promise<void> {
  await tar(['--extract', '--file', file, '--directory', into, '--no-same-owner', '--preserve-permissions'], signal);
}
