import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { AvailableVersion } from './apt-policy.js';
import { DebIndexError, parsePackagesIndex, parseRelease, type PackageFile, type ReleaseInfo } from './deb-index.js';

/** One apt source as the builds of a run reach it: a base URL, its suites and components. */
export interface DebSource {
  url: string;
  suites: readonly string[];
  components: readonly string[];
}

/** Every version the sources offer of the packages asked for, each with the package file it is in. */
export interface SnapshotIndexes {
  files: PackageFile[];
  versions: AvailableVersion[];
}

export class SnapshotIndexError extends Error {}

/** A Release file is a few KB, Debian's largest Packages index (main, uncompressed) about 50 MB. */
const MAX_RELEASE_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_BYTES = 512 * 1024 * 1024;

async function download(url: string, signal: AbortSignal, maxBytes: number): Promise<Buffer | undefined> {
  const response = await fetch(url, { signal }).catch((error: unknown) => {
    throw new SnapshotIndexError(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new SnapshotIndexError(`${url}: HTTP ${response.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const read: { done: boolean; value?: unknown } = await reader.read();
    if (read.done) break;
    const value = read.value;
    if (!(value instanceof Uint8Array)) throw new SnapshotIndexError(`${url}: the answer is not bytes`);
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new SnapshotIndexError(`${url}: more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function xzDecompress(data: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc'], { signal, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new SnapshotIndexError(`xz -dc exited with ${code}`)),
    );
    child.stdin.end(data);
  });
}

/** The Packages index of one component, in the first form the Release lists (gz, plain, xz), checked against it. */
async function packagesIndex(
  base: string,
  release: ReleaseInfo,
  path: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  for (const suffix of ['.gz', '', '.xz']) {
    const expected = release.sha256.get(`${path}${suffix}`);
    if (expected === undefined) continue;
    const data = await download(`${base}${path}${suffix}`, signal, MAX_INDEX_BYTES);
    if (data === undefined) continue;
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== expected)
      throw new SnapshotIndexError(`${base}${path}${suffix}: sha256 ${actual}, the Release says ${expected}`);
    const plain = suffix === '.gz' ? gunzipSync(data) : suffix === '.xz' ? await xzDecompress(data, signal) : data;
    return plain.toString('utf8');
  }
  return undefined;
}

/**
 * What apt would know after `apt-get update` against these sources, for the packages asked for: each suite's
 * Release (InRelease, else Release) and each component's Packages index for the architecture (and `all`, where
 * the Release keeps it apart), every index checked against the Release's sha256.
 */
export async function readSnapshotIndexes(
  sources: readonly DebSource[],
  architecture: string,
  wanted: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<SnapshotIndexes> {
  const files: PackageFile[] = [];
  const versions: AvailableVersion[] = [];
  for (const source of sources) {
    const url = source.url.endsWith('/') ? source.url : `${source.url}/`;
    for (const suite of source.suites) {
      const base = `${url}dists/${suite}/`;
      const text =
        (await download(`${base}InRelease`, signal, MAX_RELEASE_BYTES)) ??
        (await download(`${base}Release`, signal, MAX_RELEASE_BYTES));
      if (text === undefined) throw new SnapshotIndexError(`${base}: neither InRelease nor Release`);
      const release = parseRelease(text.toString('utf8'));
      for (const component of source.components) {
        // As apt: binary-all is read only where the architecture's own index does not hold those packages.
        for (const arch of release.allInArchitectureIndexes ? [architecture] : [architecture, 'all']) {
          const index = await packagesIndex(base, release, `${component}/binary-${arch}/Packages`, signal);
          if (index === undefined) {
            if (arch === 'all') continue;
            throw new SnapshotIndexError(`${base}: no Packages index for ${component}/binary-${arch}`);
          }
          const file: PackageFile = {
            kind: 'index',
            archive: release.archive,
            codename: release.codename,
            version: release.version,
            origin: release.origin,
            label: release.label,
            component,
            architecture: arch,
            site: new URL(url).hostname,
            notAutomatic: release.notAutomatic,
            butAutomaticUpgrades: release.butAutomaticUpgrades,
          };
          files.push(file);
          for (const version of indexVersions(index, wanted, `${base}${component}/binary-${arch}/Packages`))
            versions.push({ ...version, files: [file] });
        }
      }
    }
  }
  return { files, versions };
}

function indexVersions(index: string, wanted: ReadonlySet<string>, where: string) {
  try {
    return parsePackagesIndex(index, wanted);
  } catch (error) {
    if (error instanceof DebIndexError) throw new SnapshotIndexError(`${where}: ${error.message}`);
    throw error;
  }
}
