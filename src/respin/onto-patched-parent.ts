import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, readFile, readlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StackedLayers } from '../engine/types.js';
import { errorMessage } from '../util/errors.js';
import { describeFailure, runProcess } from '../util/process.js';
import { fail, ok, type Result } from '../util/result.js';
import { layerChanges, type Change } from './layer-changes.js';
import { DEBCONF_STANZAS, DPKG_STANZAS, LINES, mergeState, ownPackageKeys, type StateFormat } from './state-merge.js';

/** The parent's two selves a child's own layer moves between, as merged roots on this host. */
export interface ParentRoots {
  /** The parent the child was built on. */
  before: string;
  /** The parent as this run patched it. */
  after: string;
}

const STATUS = 'var/lib/dpkg/status';

/** State files both layers may write, merged entry by entry (state-merge.ts). */
function stateFormat(path: string): StateFormat | undefined {
  if (path === STATUS || path === 'var/lib/apt/extended_states') return DPKG_STANZAS;
  if (/^var\/cache\/debconf\/(config|templates|passwords)\.dat$/.test(path)) return DEBCONF_STANZAS;
  if (path.startsWith('var/lib/dpkg/triggers/') || path === 'var/lib/dpkg/statoverride') return LINES;
  return undefined;
}

/** Made again from the whole root after the merge. */
const REGENERATED = new Set(['etc/ld.so.cache', 'var/cache/ldconfig/aux-cache']);

/**
 * Records of what ran, not state anything reads to decide: the child's copy is kept (dpkg's backups and its
 * `available` list, locks, logs, apt's binary caches).
 */
function isHistory(path: string): boolean {
  return (
    path.startsWith('var/log/') ||
    /^var\/lib\/dpkg\/(status-old|available|available-old|lock|lock-frontend|triggers\/Lock)$/.test(path) ||
    /^var\/cache\/debconf\/[a-z]+\.dat-old$/.test(path) ||
    /^var\/cache\/apt\/[a-z]+\.bin$/.test(path) ||
    /^var\/(lib\/apt\/lists|cache\/apt\/archives)\/lock$/.test(path)
  );
}

/**
 * The edit that makes a child's own layer, carried onto its patched parent, what a full build of the child on
 * that parent would hold: dpkg's, apt's and debconf's state merged; the folders the parent's patch deleted
 * (a package stopped shipping the last file there) that the child's own packages still list, put back as dpkg
 * would keep them; ld.so.cache made again. A reason instead when the child's layer changes what the parent's
 * patch changed (beyond that state), or changed its parent's entries in it: then it is patched as a whole.
 */
export async function mergeOntoPatchedParent(
  root: string,
  layers: StackedLayers,
  parent: ParentRoots,
): Promise<Result<void, string>> {
  try {
    const [own, patch] = await Promise.all([layerChanges(layers.own), layerChanges(layers.ontoDiffering)]);
    const collisions = await collidingPaths(root, layers.own, own, patch, parent);
    if (collisions.length > 0) {
      const more = collisions.length > 3 ? ` and ${collisions.length - 3} more` : '';
      return fail(
        `its own layer changes what its parent's patch changed: /${collisions.slice(0, 3).join(', /')}${more}`,
      );
    }
    const childStatus = await readText(join(root, STATUS));
    for (const [path, change] of own) {
      const format = stateFormat(path);
      if (change !== 'written' || format === undefined) continue;
      const merged = mergeState(
        await readText(join(parent.before, path)),
        await readText(join(parent.after, path)),
        await readText(join(root, path)),
        format,
      );
      if ('conflict' in merged) return fail(`/${path}: ${merged.conflict}`);
      await writeFile(join(root, path), merged.merged);
    }
    const restored = await restoreListedFolders(
      root,
      parent.before,
      patch,
      ownPackageKeys(await readText(join(parent.before, STATUS)), childStatus),
    );
    if (!restored.ok) return restored;
    return await regenerateLinkerCache(root);
  } catch (error) {
    return fail(`its layers cannot be merged: ${errorMessage(error)}`);
  }
}

/**
 * Paths both write that no merge covers, where the parent's update would be lost: the patch changed what the
 * parent held there, and the child's copy is not the patched parent's. (A file the patch wrote back as it was,
 * say /etc/pam.d/common-session made again by pam-auth-update, keeps the child's copy, as a full build would.)
 */
async function collidingPaths(
  root: string,
  ownDirs: readonly string[],
  own: ReadonlyMap<string, Change>,
  patch: ReadonlyMap<string, Change>,
  parent: ParentRoots,
): Promise<string[]> {
  const colliding: string[] = [];
  for (const [path, change] of own) {
    const patched = patch.get(path);
    if (change !== 'written' || patched === undefined || patched === 'dir') continue;
    if (stateFormat(path) !== undefined || REGENERATED.has(path) || isHistory(path)) continue;
    // The child's copy is in the topmost of its own layers that holds the path.
    const mine =
      [...ownDirs]
        .reverse()
        .map((dir) => join(dir, path))
        .find((file) => existsSync(file)) ?? join(root, path);
    const after = join(parent.after, path);
    if (await sameContent(mine, after)) continue;
    if (patched === 'written' && (await sameContent(join(parent.before, path), after))) continue;
    colliding.push(path);
  }
  return colliding.sort();
}

/** Whether two paths hold the same: the same bytes, or symbolic links to the same target; a missing one, no. */
async function sameContent(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([lstat(a).catch(() => undefined), lstat(b).catch(() => undefined)]);
  if (first === undefined || second === undefined) return false;
  if (first.isSymbolicLink() || second.isSymbolicLink()) {
    return first.isSymbolicLink() && second.isSymbolicLink() && (await readlink(a)) === (await readlink(b));
  }
  if (!first.isFile() || !second.isFile() || first.size !== second.size) return false;
  return (await readFile(a)).equals(await readFile(b));
}

const readText = async (file: string) => (existsSync(file) ? readFile(file, 'utf8') : '');

/**
 * A folder the parent's patch deleted, because the parent's last package shipping something there stopped
 * doing so, is kept by dpkg in a full build when a package of the child lists it: made again here with the
 * owner, mode and times it had in the parent the child was built on.
 */
async function restoreListedFolders(
  root: string,
  before: string,
  patch: ReadonlyMap<string, Change>,
  ownPackages: readonly string[],
): Promise<Result<void, string>> {
  const deleted = [...patch].filter(([, change]) => change === 'deleted').map(([path]) => path);
  if (deleted.length === 0) return ok(undefined);
  const listed = new Set<string>();
  for (const key of ownPackages) {
    const [name = '', architecture = ''] = key.split(' ');
    const lists = [`${name}:${architecture}.list`, `${name}.list`].map((file) => join(root, 'var/lib/dpkg/info', file));
    const list = lists.find((file) => existsSync(file));
    if (list === undefined) continue;
    for (const line of (await readFile(list, 'utf8')).split('\n'))
      if (line.startsWith('/') && line !== '/.') listed.add(line.slice(1));
  }
  const underDeleted = (path: string) => deleted.some((gone) => path === gone || path.startsWith(`${gone}/`));
  for (const path of [...listed].filter(underDeleted).sort()) {
    if (existsSync(join(root, path))) continue;
    const was = await lstat(join(before, path)).catch(() => undefined);
    if (was === undefined) continue;
    if (!was.isDirectory())
      return fail(`/${path}, which the parent's patch deleted, is a file a package of the child lists`);
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    await mkdir(target);
    await chown(target, was.uid, was.gid);
    await chmod(target, was.mode & 0o7777);
    await utimes(target, was.atime, was.mtime);
  }
  return ok(undefined);
}

/**
 * ld.so.cache for the merged libraries, where the image has one: by the host's ldconfig, which reads the image's
 * own /etc/ld.so.conf under -r; no program of the image runs on the host.
 */
async function regenerateLinkerCache(root: string): Promise<Result<void, string>> {
  if (!existsSync(join(root, 'etc/ld.so.cache'))) return ok(undefined);
  const ran = await runProcess('ldconfig', ['-r', root]);
  return ran.exitCode === 0 ? ok(undefined) : fail(describeFailure('ldconfig -r', ran));
}
