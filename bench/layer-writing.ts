/**
 * How fast a composed image's last layer is written (engine/upper-layer.ts) against the peer a shell would use:
 * GNU tar piped through `gzip -1`, with sha256sum of the tar and of the gzip'd bytes (the layer's two digests),
 * on the same folder, in the same run, rounds alternating. The folders are copies of this host's own trees:
 * Python's (thousands of small files, as a respin's byte-compiled upgrades) and the shared libraries (fewer,
 * larger ones). Both write the same tar members; ci-builder's also turns overlayfs's marks into OCI's.
 *
 *   node --import tsx bench/layer-writing.ts [--rounds 3] [--out bench/results/layer-writing.json]
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeUpperLayer } from '../src/engine/upper-layer.js';
import { runProcess } from '../src/util/process.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: join(root, 'bench/results/layer-writing.json') },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`bench/layer-writing.ts: --rounds must be a whole number of at least 1, not ${values.rounds}\n`);
  process.exit(2);
}

const TREES = [
  { name: 'Python (small files)', source: '/usr/lib/python3' },
  { name: 'shared libraries (larger files)', source: '/usr/lib/x86_64-linux-gnu' },
];

interface TreeResult {
  tree: string;
  files: number;
  megabytes: number;
  ciBuilderSeconds: number[];
  peerSeconds: number[];
  ratio: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Files and bytes under a folder, links and folders not counted as files. */
function sizeOf(folder: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files += 1;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

const work = mkdtempSync(join(tmpdir(), 'ci-builder-bench-layer-'));
const results: TreeResult[] = [];
try {
  for (const tree of TREES) {
    const upper = join(work, 'upper');
    cpSync(tree.source, join(upper, tree.source), { recursive: true, verbatimSymlinks: true });
    const { files, bytes } = sizeOf(upper);
    const ours: number[] = [];
    const peer: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const file = join(work, 'layer.tar.gz');
      ours.push(await timed(() => writeUpperLayer(upper, file, { level: 1 }).then(() => undefined)));
      rmSync(file);
      const script = `tar --sort=name -C "$1" -cf - . | tee >(sha256sum >&2) | gzip -1 | tee "$2" | sha256sum >&2`;
      const ran = await timed(async () => {
        const done = await runProcess('bash', ['-o', 'pipefail', '-c', script, 'peer', upper, file]);
        if (done.exitCode !== 0) throw new Error(`tar | gzip -1 failed: ${done.stderrTail.join(' ')}`);
      });
      peer.push(ran);
      rmSync(file);
      process.stdout.write(
        `${tree.name}, round ${round + 1}: ${ours.at(-1)?.toFixed(2)} s, peer ${ran.toFixed(2)} s\n`,
      );
    }
    rmSync(upper, { recursive: true });
    const ratio = median(ours) / median(peer);
    results.push({ tree: tree.name, files, megabytes: bytes / 1e6, ciBuilderSeconds: ours, peerSeconds: peer, ratio });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`\nwriting a layer from a folder: tar, both sha256 digests, gzip level 1 (median of ${rounds} rounds)`);
console.log('| tree | files | MB | ci-builder s | tar \\| gzip -1 s | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const result of results) {
  const cells = [
    result.files,
    result.megabytes.toFixed(0),
    median(result.ciBuilderSeconds).toFixed(2),
    median(result.peerSeconds).toFixed(2),
    `${result.ratio.toFixed(2)}×`,
  ];
  console.log(`| ${result.tree} | ${cells.join(' | ')} |`);
}
writeFileSync(
  values.out,
  `${JSON.stringify({ benchmark: 'layer-writing', at: new Date().toISOString(), results }, null, 2)}\n`,
);
console.log(`\nwritten to ${values.out}`);
