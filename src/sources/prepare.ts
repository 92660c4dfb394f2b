import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { fetchGitArchive } from './fetch-git.js';
import { downloadUrl } from './fetch-url.js';
import { packLocal } from './local.js';
import { pruneSourceStore } from './prune.js';
import { createNormalisedTar, extractTar, findUnsafeMember, listMembers } from './tar.js';
import { stripUserinfo } from '../util/url-login.js';
import type { SourceDefinition } from '../config/source-definition.js';
import { SourceError, type PreparedArchive } from './types.js';

export interface PrepareSourcesRequest {
  image: string;
  /** Source sections by name; only `<image>`, `<image>-plugin-*` and `<image>-additions-*` are read. */
  sections: Readonly<Record<string, SourceDefinition>>;
  /** Picks the `sha256` entry a url source is checked against (`amd64`, `arm64`). */
  debianArch: string;
  cacheDir: string;
  /** Also give an image without plugin or additions sections (empty) `plugins-archive` and `additions-archive`. */
  withPluginArchives: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** kolla-build's own default for how long a source may keep it waiting. */
const DEFAULT_TIMEOUT_MS = 120_000;

type Bundle = 'plugins' | 'additions';

interface Context {
  request: PrepareSourcesRequest;
  timeoutMs: number;
  /** Under the cache, so finished files reach the archive store by a rename. */
  workDir: string;
  nextScratch: () => Promise<string>;
}

/** One source fetched into the scratch folder, not yet in the store. */
interface Fetched {
  file: string;
  /** Known when the bytes were already hashed on the way in (downloads). */
  sha256?: string;
  git?: { identity: string; topName: string };
}

/**
 * Fetches and packs the sources of one image into the files kolla-build puts into its build
 * context: `<image>-archive`, `plugins-archive` and `additions-archive`.
 */
export async function prepareImageSources(request: PrepareSourcesRequest): Promise<PreparedArchive[]> {
  const { image } = request;
  const own = request.sections[image];
  const plugins = sectionsWithPrefix(request.sections, `${image}-plugin-`);
  const additions = sectionsWithPrefix(request.sections, `${image}-additions-`);
  const wantsBundles = request.withPluginArchives || plugins.length > 0 || additions.length > 0;
  if (!own?.enabled && !wantsBundles) return [];

  await pruneSourceStore(request.cacheDir);
  const temporary = join(request.cacheDir, 'sources', 'tmp');
  await mkdir(temporary, { recursive: true });
  const workDir = await mkdtemp(join(temporary, 'prepare-'));
  let scratchCount = 0;
  const context: Context = {
    request,
    timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    workDir,
    nextScratch: async () => {
      const dir = join(workDir, String(scratchCount++));
      await mkdir(dir);
      return dir;
    },
  };
  try {
    const prepared: PreparedArchive[] = [];
    if (own?.enabled) prepared.push(await prepareOwn(image, own, context));
    if (wantsBundles) {
      prepared.push(await prepareBundle('plugins', plugins, context));
      prepared.push(await prepareBundle('additions', additions, context));
    }
    return prepared;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Enabled sections named `<prefix><something>`, in name order so later ones win on clashing
 * files the same way every time. The prefix is the whole image name plus `-plugin-`, so
 * `nova-plugin-x` belongs to `nova` and never to `nova-base`.
 */
function sectionsWithPrefix(
  sections: Readonly<Record<string, SourceDefinition>>,
  prefix: string,
): [string, SourceDefinition][] {
  return Object.entries(sections)
    .filter(([name, definition]) => name.startsWith(prefix) && name.length > prefix.length && definition.enabled)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function prepareOwn(section: string, definition: SourceDefinition, context: Context): Promise<PreparedArchive> {
  return inSection(section, async () => {
    const fetched = await fetchSource(section, definition, context);
    const stored = await storeArchive(fetched, context.request.cacheDir);
    return {
      path: `${section}-archive`,
      file: stored.file,
      identity: fetched.git?.identity ?? `sha256:${stored.sha256}`,
    };
  });
}

async function fetchSource(section: string, definition: SourceDefinition, context: Context): Promise<Fetched> {
  const { request, timeoutMs } = context;
  const scratch = await context.nextScratch();
  const file = join(scratch, 'archive');
  switch (definition.type) {
    case 'url': {
      const expectedSha256 = expectedChecksum(section, definition, request.debianArch);
      const sha256 = await downloadUrl({
        section,
        url: definition.location,
        target: file,
        expectedSha256,
        timeoutMs,
        signal: request.signal,
      });
      return { file, sha256 };
    }
    case 'local':
      await packLocal(section, definition.location, file, request.signal);
      return { file };
    case 'git': {
      if (definition.reference === undefined)
        throw new SourceError(section, 'a git source needs a reference (branch, tag or commit)');
      const checkoutDir = join(scratch, 'checkout');
      await mkdir(checkoutDir);
      const { commit, topName } = await fetchGitArchive({
        section,
        location: definition.location,
        reference: definition.reference,
        cacheDir: request.cacheDir,
        workDir: checkoutDir,
        target: file,
        timeoutMs,
        signal: request.signal,
      });
      return { file, git: { identity: `git:${stripUserinfo(definition.location)}@${commit}`, topName } };
    }
    default:
      throw new SourceError(section, `unknown source type ${String((definition as { type: unknown }).type)}`);
  }
}

/** The config's checksum for this architecture; a map that leaves this architecture out is refused, not skipped. */
function expectedChecksum(section: string, definition: SourceDefinition, debianArch: string): string | undefined {
  if (definition.sha256 === undefined || Object.keys(definition.sha256).length === 0) return undefined;
  const expected = definition.sha256[debianArch];
  if (expected === undefined) throw new SourceError(section, `sha256 has no entry for the architecture ${debianArch}`);
  return expected;
}

/**
 * Builds `plugins-archive` or `additions-archive`: every section's tar is extracted into one
 * folder, which is packed again under the top folder `plugins` or `additions`.
 */
async function prepareBundle(
  bundle: Bundle,
  sections: readonly [string, SourceDefinition][],
  context: Context,
): Promise<PreparedArchive> {
  if (sections.length === 0) return emptyBundle(bundle, context.request.cacheDir);
  const parentDir = await context.nextScratch();
  const staging = join(parentDir, bundle);
  await mkdir(staging);
  const symlinks = new Set<string>();
  const gitSources: { identity: string; topName: string }[] = [];

  for (const [section, definition] of sections) {
    await inSection(section, async () => {
      const fetched = await fetchSource(section, definition, context);
      const members = await listMembers(fetched.file, context.request.signal);
      if (members === undefined) throw new SourceError(section, 'not a tar archive');
      const unsafe = findUnsafeMember(members, symlinks);
      if (unsafe !== undefined) throw new SourceError(section, unsafe);
      for (const member of members) if (member.kind === 'symlink') symlinks.add(member.name);
      await extractTar(fetched.file, staging, context.request.signal);
      await rm(fetched.file);
      if (fetched.git) gitSources.push(fetched.git);
    });
  }

  const section = `${bundle}-archive`;
  return inSection(section, async () => {
    const target = join(await context.nextScratch(), 'archive');
    await createNormalisedTar({ parentDir, topName: bundle, target, signal: context.request.signal });
    const stored = await storeArchive({ file: target }, context.request.cacheDir);
    return {
      path: section,
      file: stored.file,
      identity: await bundleIdentity(bundle, parentDir, stored.sha256, gitSources, context),
    };
  });
}

/**
 * Most images that ADD plugins-archive have no plugins: the same empty tar for every one of
 * them, made once per process (each made by spawning tar, which dominates planning otherwise).
 */
const emptyBundles = new Map<string, Promise<PreparedArchive>>();

/** The empty `plugins-archive` and `additions-archive` an image gets when it ADDs them without such sections. */
export async function prepareEmptyBundles(cacheDir: string): Promise<PreparedArchive[]> {
  await pruneSourceStore(cacheDir);
  await mkdir(join(cacheDir, 'sources', 'tmp'), { recursive: true });
  return Promise.all([emptyBundle('plugins', cacheDir), emptyBundle('additions', cacheDir)]);
}

function emptyBundle(bundle: Bundle, cacheDir: string): Promise<PreparedArchive> {
  const key = `${cacheDir}\0${bundle}`;
  let made = emptyBundles.get(key);
  if (made === undefined) {
    made = inSection(`${bundle}-archive`, async () => {
      // Its own scratch folder: a request's is removed when that request is done.
      const parentDir = await mkdtemp(join(cacheDir, 'sources', 'tmp', 'empty-'));
      try {
        await mkdir(join(parentDir, bundle));
        const target = join(parentDir, 'archive');
        await createNormalisedTar({ parentDir, topName: bundle, target });
        const stored = await storeArchive({ file: target }, cacheDir);
        return { path: `${bundle}-archive`, file: stored.file, identity: `sha256:${stored.sha256}` };
      } finally {
        await rm(parentDir, { recursive: true, force: true });
      }
    });
    emptyBundles.set(key, made);
    made.catch(() => emptyBundles.delete(key));
  }
  return made;
}

/**
 * Without git sources the bundle's tar is reproducible and its hash is the identity. A git
 * checkout's .git folder is not (its index records inode numbers and times of the clone), so
 * then the identity hashes the bundle without those folders and names the commits instead.
 */
async function bundleIdentity(
  bundle: Bundle,
  parentDir: string,
  sha256: string,
  gitSources: readonly { identity: string; topName: string }[],
  context: Context,
): Promise<string> {
  if (gitSources.length === 0) return `sha256:${sha256}`;
  const withoutGit = join(await context.nextScratch(), 'archive');
  const exclude = gitSources.map((source) => `${bundle}/${source.topName}/.git`);
  await createNormalisedTar({
    parentDir,
    topName: bundle,
    target: withoutGit,
    exclude,
    signal: context.request.signal,
  });
  return [`sha256:${await hashFile(withoutGit)}`, ...gitSources.map((source) => source.identity)].join(' ');
}

/**
 * Moves a finished file to `<cacheDir>/sources/archives/<sha256>`: a plan can point at it
 * without holding it in memory, and it appears by a rename, never half-written.
 */
async function storeArchive(
  fetched: Pick<Fetched, 'file' | 'sha256'>,
  cacheDir: string,
): Promise<{ file: string; sha256: string }> {
  const sha256 = fetched.sha256 ?? (await hashFile(fetched.file));
  const archives = join(cacheDir, 'sources', 'archives');
  await mkdir(archives, { recursive: true });
  const file = join(archives, sha256);
  await rename(fetched.file, file);
  return { file, sha256 };
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every failure while working on a section becomes a SourceError that names it. */
async function inSection<T>(section: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError(section, errorMessage(error));
  }
}
