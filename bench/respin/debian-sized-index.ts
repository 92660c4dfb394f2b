/**
 * Snapshots whose index is as large as Debian's. The fixture's snapshots hold only what the library installs
 * (about 950 packages); an operator's Pulp snapshot of bookworm holds all of main (about 63,000). Every
 * `apt-get update` a build step or a patch runs fetches, decompresses and parses the whole index, so its cost
 * grows with the index, and a small one hides it.
 *
 * A copy of each published snapshot gets Debian's own bookworm stanzas added to its index, each renamed
 * (`zz-filler-<name>`) and without its relation fields: the same bytes for apt to read, and nothing apt could
 * ever choose, so every image resolves exactly as before. The copy's pool is a link to the snapshot's.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SnapshotName } from '../../test/helpers/snapshot-repos.js';

const DEBIAN_INDEX = 'http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz';
/**
 * Fields through which one package can make apt choose another, those that make apt keep or want one, and those
 * a bootstrap selects packages by (mmdebstrap installs every `Priority: required` one).
 */
const DROPPED_FIELDS = new Set([
  'priority',
  'build-essential',
  'task',
  'depends',
  'pre-depends',
  'recommends',
  'suggests',
  'enhances',
  'breaks',
  'conflicts',
  'replaces',
  'provides',
  'essential',
  'important',
  'protected',
]);
const HASHES: Record<string, string> = { MD5Sum: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/** Debian bookworm main's index for amd64, uncompressed; downloaded once and kept beside the fixture's cache. */
async function debianIndex(log: (line: string) => void): Promise<string> {
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ci-builder-test', 'debian-index');
  const file = join(cacheDir, 'bookworm-main-amd64-Packages.xz');
  if (!existsSync(file)) {
    log(`debian-sized index: downloading ${DEBIAN_INDEX}`);
    const response = await fetch(DEBIAN_INDEX);
    if (!response.ok) throw new Error(`${DEBIAN_INDEX}: HTTP ${response.status}`);
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${file}.part`, Buffer.from(await response.arrayBuffer()));
    renameSync(`${file}.part`, file);
  }
  return execFileSync('xz', ['-dc', file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
}

/** Each stanza renamed and without the fields through which apt could ever pick it. */
export function fillerStanzas(index: string): string {
  const stanzas: string[] = [];
  for (const stanza of index.split(/\n\n+/)) {
    const kept: string[] = [];
    let dropping = false;
    for (const line of stanza.split('\n')) {
      if (line === '') continue;
      if (!line.startsWith(' ') && !line.startsWith('\t')) {
        const field = line.slice(0, line.indexOf(':')).toLowerCase();
        dropping = DROPPED_FIELDS.has(field);
        if (field === 'package') {
          kept.push(`Package: zz-filler-${line.slice(line.indexOf(':') + 1).trim()}`);
          continue;
        }
      }
      if (!dropping) kept.push(line);
    }
    if (kept.some((line) => line.startsWith('Package: '))) stanzas.push(kept.join('\n'));
  }
  return `${stanzas.join('\n\n')}\n`;
}

/** The suite's Release with the hash and size of each rewritten index file put right. */
export function rewriteRelease(release: string, files: ReadonlyMap<string, Buffer>): string {
  let algorithm: string | undefined;
  return release
    .split('\n')
    .map((line) => {
      if (!line.startsWith(' ')) {
        algorithm = HASHES[line.replace(/:$/, '')];
        return line;
      }
      const [, , path] = line.trim().split(/\s+/);
      const content = path === undefined ? undefined : files.get(path);
      if (algorithm === undefined || content === undefined) return line;
      return ` ${createHash(algorithm).update(content).digest('hex')} ${String(content.length).padStart(8)} ${path}`;
    })
    .join('\n');
}

/**
 * A Debian-sized copy of each snapshot under `into`: its indexes (`Packages` and `Packages.gz` of every
 * component and architecture) padded with the filler, its Release put right, its pool linked.
 */
export async function debianSizedSnapshots(
  folders: Record<SnapshotName, string>,
  into: string,
  log: (line: string) => void,
): Promise<Record<SnapshotName, string>> {
  const filler = fillerStanzas(await debianIndex(log));
  const padded = {} as Record<SnapshotName, string>;
  for (const [name, folder] of Object.entries(folders) as Array<[SnapshotName, string]>) {
    const copy = join(into, name);
    mkdirSync(copy, { recursive: true });
    symlinkSync(join(folder, 'pool'), join(copy, 'pool'));
    cpSync(join(folder, 'dists'), join(copy, 'dists'), { recursive: true });
    for (const suite of readdirSync(join(copy, 'dists'))) padSuite(join(copy, 'dists', suite), filler);
    padded[name] = copy;
  }
  const stanzas = filler.split('\n\n').length;
  log(`debian-sized index: ${stanzas} filler stanzas (${(filler.length / 1e6).toFixed(0)} MB) added to each snapshot`);
  return padded;
}

function padSuite(suiteDir: string, filler: string): void {
  const rewritten = new Map<string, Buffer>();
  for (const component of readdirSync(suiteDir, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    for (const binary of readdirSync(join(suiteDir, component.name)).filter((name) => name.startsWith('binary-'))) {
      const relative = `${component.name}/${binary}`;
      const packagesFile = join(suiteDir, relative, 'Packages');
      const index = Buffer.from(`${readFileSync(packagesFile, 'utf8').replace(/\n*$/, '\n\n')}${filler}`);
      const compressed = gzipSync(index, { level: 6 });
      writeFileSync(packagesFile, index);
      writeFileSync(`${packagesFile}.gz`, compressed);
      rewritten.set(`${relative}/Packages`, index);
      rewritten.set(`${relative}/Packages.gz`, compressed);
    }
  }
  const releaseFile = join(suiteDir, 'Release');
  writeFileSync(releaseFile, rewriteRelease(readFileSync(releaseFile, 'utf8'), rewritten));
}
