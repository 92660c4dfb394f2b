import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, readFile, readlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StackedLayers } from '../engine/types.js';
import { errorMessage } from '../util/errors.js';
import { describeFailure, runProcess } from '../util/process.js';
import { fail, ok, type Result } from '../util/result.js';
import { LayerProbe, layerChanges, type Change, type LayerChangesOf } from './layer-changes.js';
import { rootedPath } from './rooted-path.js';
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
  changesOf: LayerChangesOf = layerChanges,
): Promise<Result<void, string>> {
  try {
    // The patch's layers are walked, the child's (often far larger) only probed at the paths the patch changed.
    const patch = await changesOf(layers.ontoDiffering);
    const shared = await writtenByBoth(layers.own, patch);
    const collisions: string[] = [];
    for (const [path, mine] of shared) {
      if (stateFormat(path) !== undefined || REGENERATED.has(path) || isHistory(path)) continue;
      if (await collides(path, mine, patch.get(path), parent)) collisions.push(path);
    }
    if (collisions.length > 0) {
      const more = collisions.length > 3 ? ` and ${collisions.length - 3} more` : '';
      const named = collisions.sort().slice(0, 3).join(', /');
      return fail(`its own layer changes what its parent's patch changed: /${named}${more}`);
    }
    // The child's and the earlier parent's dpkg status, as they were before the merge rewrites the child's.
    const [childStatus, parentStatus] = await Promise.all([readText(root, STATUS), readText(parent.before, STATUS)]);
    const ownPackages = ownPackageKeys(parentStatus, childStatus);
    for (const path of shared.keys()) {
      const format = stateFormat(path);
      if (format === undefined) continue;
      const merged = mergeState(
        path === STATUS ? parentStatus : await readText(parent.before, path),
        await readText(parent.after, path),
        path === STATUS ? childStatus : await readText(root, path),
        format,
      );
      if ('conflict' in merged) return fail(`/${path}: ${merged.conflict}`);
      await writeFile(await rootedPath(root, path), merged.merged);
    }
    const restored = await restoreListedFolders(root, parent.before, patch, ownPackages);
    if (!restored.ok) return restored;
    return await regenerateLinkerCache(root);
  } catch (error) {
    return fail(`its layers cannot be merged: ${errorMessage(error)}`);
  }
}

/** The paths the patch changed (other than folders) that the child's own layers write too, with the child's copy. */
async function writtenByBoth(
  ownDirs: readonly string[],
  patch: ReadonlyMap<string, Change>,
): Promise<Map<string, string>> {
  const shared = new Map<string, string>();
  const own = new LayerProbe(ownDirs);
  for (const [path, patched] of patch) {
    if (patched === 'dir') continue;
    const mine = await own.topChange(path);
    if (mine?.change === 'written') shared.set(path, mine.file);
  }
  return shared;
}

/**
 * Whether the parent's update of a path both write would be lost: the patch changed what the parent held there,
 * and the child's copy is not the patched parent's. (A file the patch wrote back as it was, say
 * /etc/pam.d/common-session made again by pam-auth-update, keeps the child's copy, as a full build would.)
 */
async function collides(
  path: string,
  mine: string,
  patched: Change | undefined,
  parent: ParentRoots,
): Promise<boolean> {
  const after = await rootedPath(parent.after, path);
  if (await sameContent(mine, after)) return false;
  return !(patched === 'written' && (await sameContent(await rootedPath(parent.before, path), after)));
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

/** A state file's text under an image's root; an absent one reads as empty. */
async function readText(root: string, path: string): Promise<string> {
  const file = await rootedPath(root, path);
  return existsSync(file) ? readFile(file, 'utf8') : '';
}

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
    const lists = [`${name}:${architecture}.list`, `${name}.list`].map((file) => `var/lib/dpkg/info/${file}`);
    let text = '';
    for (const list of lists) text ||= await readText(root, list);
    for (const line of text.split('\n')) if (line.startsWith('/') && line !== '/.') listed.add(line.slice(1));
  }
  // The path or a folder above it deleted: looked up by each of its prefixes, as a child's packages list tens of
  // thousands of paths and a patch deletes hundreds.
  const deletedPaths = new Set(deleted);
  const underDeleted = (path: string) => {
    for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) {
      if (deletedPaths.has(path.slice(0, end))) return true;
    }
    return false;
  };
  for (const path of [...listed].filter(underDeleted).sort()) {
    const target = await rootedPath(root, path);
    if (existsSync(target)) continue;
    const was = await lstat(await rootedPath(before, path)).catch(() => undefined);
    if (was === undefined) continue;
    if (!was.isDirectory())
      return fail(`/${path}, which the parent's patch deleted, is a file a package of the child lists`);
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
