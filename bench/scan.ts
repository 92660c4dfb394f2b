/**
 * Scan speed: inventory (the image mounted, or exported and its layers read) and matching per image and for a
 * synthetic OSV database the size of Debian's real one (~40,000 records) named after the packages of a
 * real image, read from an all.zip as operators download it. Compared with the images' build times
 * when a build summary is at hand.
 *
 *   node --import tsx bench/scan.ts [--summary .ci-builder/runs/<tag>/summary.json] [--image REF ...]
 *                                   [--records 40000] [--engine buildah] [--out bench/results/scan.json]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine, type EngineName } from '../src/engine/index.js';
import type { RunSummary } from '../src/report/summary.js';
import { imageNameOf } from '../src/scan/image-reference.js';
import type { AllowList } from '../src/scan/allow-list.js';
import type { LayerCache } from '../src/scan/layer-files.js';
import type { OsvRecord } from '../src/scan/osv-record.js';
import { inventoryOfLayout, scanImage, type ImageScan } from '../src/scan/scan-image.js';
import { loadVulnerabilityDatabase } from '../src/scan/vulnerability-db.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    summary: { type: 'string' },
    image: { type: 'string', multiple: true },
    records: { type: 'string', default: '40000' },
    engine: { type: 'string', default: 'buildah' },
    out: { type: 'string', default: join(root, 'bench/results/scan.json') },
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
  rows.push({
    image: imageNameOf(reference),
    packages: scan.inventory.packages.length,
    findings: scan.findings.length,
    verdict: scan.verdict,
    exportS: scan.seconds.export,
    inventoryS: scan.seconds.inventory,
    matchS: scan.seconds.match,
    scanS: scan.seconds.export + scan.seconds.inventory + scan.seconds.match,
    buildS: build?.seconds ?? null,
    buildStatus: build?.status ?? '',
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
console.log('| image | packages | findings | verdict | export s | inventory s | match s | scan s | build s |');
console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const note = row.buildStatus === 'built' ? '' : ` (${row.buildStatus})`;
  const build = row.buildS === null ? '-' : `${f(row.buildS)}${note}`;
  const times = [row.exportS, row.inventoryS, row.matchS, row.scanS].map(f).join(' | ');
  console.log(`| ${row.image} | ${row.packages} | ${row.findings} | ${row.verdict} | ${times} | ${build} |`);
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
