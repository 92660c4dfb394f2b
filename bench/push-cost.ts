/**
 * What a push costs by each path, on a sound network: the engine's own push against the image
 * exported (OCI layout) and uploaded by ci-builder's registry client, blob by blob. The bundled
 * subset (base chain, cron, memcached, keystone) is built once (no push), then every image, parents
 * first, goes both ways, one after the other, each to a registry of its own (so neither path finds
 * the other's blobs): wall seconds, and CPU seconds of this process and the engine processes.
 *
 *   node --import tsx bench/push-cost.ts [--engine buildah|podman] [--out bench/results/push-cost.json]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/engine/index.js';
import { pushExported } from '../src/engine/registry-push.js';
import type { Engine } from '../src/engine/types.js';
import { splitReference } from '../src/registry/reference.js';
import type { RunSummary } from '../src/report/summary.js';
import { writeRegistryAuth } from '../src/run/registry-auth.js';
import { buildWorkspace } from '../test/helpers/build-workspace.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'buildah' },
    out: { type: 'string', default: join(root, 'bench/results/push-cost.json') },
  },
});
if (values.engine !== 'buildah' && values.engine !== 'podman') {
  process.stderr.write(`bench/push-cost.ts: --engine must be buildah or podman (they share the built images)\n`);
  process.exit(2);
}
const regexes = ['^cron$', '^memcached$', '^keystone$'];
const tag = `cost-${Date.now()}`;

/** CPU seconds of this process and of the children it has waited for (the engines), from /proc. */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime, cutime, cstime: fields 14-17 of the whole line, 12-15 after the command name.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
  return ticks / 100;
}

interface Measured {
  seconds: number;
  cpu: number;
  /** Seconds of the export, for the client path (the rest is the upload). */
  exportSeconds?: number;
  failed?: string;
  fellBack?: boolean;
}

async function measure(work: (onLine: (line: string) => void) => Promise<string | undefined>): Promise<Measured> {
  const lines: string[] = [];
  const cpuBefore = cpuSeconds();
  const started = performance.now();
  const failed = await work((line) => lines.push(line));
  const seconds = (performance.now() - started) / 1000;
  const exported = lines.map((line) => /^exported \S+ in ([\d.]+) s$/.exec(line)?.[1]).find((match) => match);
  return {
    seconds,
    cpu: cpuSeconds() - cpuBefore,
    ...(exported ? { exportSeconds: Number(exported) } : {}),
    ...(failed ? { failed } : {}),
    ...(lines.some((line) => line.startsWith("the engine's push failed")) ? { fellBack: true } : {}),
  };
}

const engineRegistry = await startRegistry();
const clientRegistry = await startRegistry();
const rows: Array<{ image: string; engine: Measured; client: Measured }> = [];
try {
  // References on the engine path's registry; the client path's are the same names on its own.
  const workspace = buildWorkspace(engineRegistry);
  const runDir = join(workspace.dir, 'run');
  // A build on a busy host can fail for reasons of its own (a mirror): tried again, and measured without it after.
  const build = ['build', '--tag', tag, '--run-dir', runDir, '--retries', '2', ...regexes];
  const cli = [join(root, 'dist/cli/main.js'), '--config', workspace.configDir, '-q', ...build];
  const child = spawn(process.execPath, cli, { cwd: workspace.dir, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) process.stderr.write(`the build exited with ${code}: measuring the images it built\n`);
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  const order = [...summary.built.map((entry) => entry.name), ...summary.reused.map((entry) => entry.name)];
  const engine: Engine = createEngine(values.engine);
  const engineAuth = await writeRegistryAuth(engineRegistry.address, engineRegistry.username, engineRegistry.password);
  const clientLogin = loginOf(clientRegistry);
  const pushedRepositories: string[] = [];
  const signal = new AbortController().signal;
  try {
    for (const name of order) {
      const reference = summary.images[name]?.reference;
      const parts = reference ? splitReference(reference) : undefined;
      if (reference === undefined || parts === undefined) continue;
      const enginePush = await measure(async (onLine) => {
        const request = { reference, insecure: true, authFile: engineAuth.file, onLine, signal };
        const pushed = await engine.push({ ...request, login: loginOf(engineRegistry) });
        return pushed.ok ? undefined : pushed.failure.message;
      });
      const clientReference = `${clientRegistry.address}/${parts.repository}:${parts.tag}`;
      const tagged = await engine.tag(reference, clientReference);
      if (!tagged.ok) throw new Error(tagged.failure.message);
      const clientPush = await measure(async (onLine) => {
        const exportImage = engine.exportOci.bind(engine);
        const request = { reference: clientReference, insecure: true, login: clientLogin, onLine, signal };
        const pushed = await pushExported(exportImage, { ...request, mountFrom: [...pushedRepositories] });
        return pushed.ok ? undefined : pushed.failure.message;
      });
      await engine.remove(clientReference);
      pushedRepositories.unshift(parts.repository);
      rows.push({ image: name, engine: enginePush, client: clientPush });
    }
  } finally {
    await engineAuth.dispose();
  }
} finally {
  await engineRegistry.stop();
  await clientRegistry.stop();
}

const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((total, row) => total + pick(row), 0);
const fixed = (value: number) => value.toFixed(1);
console.log(`\npush cost by path, ${values.engine}, no faults (wall s / CPU s)`);
console.log('| image | engine push | export + client push | of it, export | wall ratio |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const { image, engine, client } of rows) {
  const note = engine.failed || client.failed ? ` (failed: ${engine.failed ?? client.failed})` : '';
  const cells = [
    `${fixed(engine.seconds)} / ${fixed(engine.cpu)}`,
    `${fixed(client.seconds)} / ${fixed(client.cpu)}`,
    fixed(client.exportSeconds ?? 0),
    `${(client.seconds / engine.seconds).toFixed(1)}x`,
  ];
  console.log(`| ${image}${note} | ${cells.join(' | ')} |`);
}
const totals = [
  `${fixed(sum((row) => row.engine.seconds))} / ${fixed(sum((row) => row.engine.cpu))}`,
  `${fixed(sum((row) => row.client.seconds))} / ${fixed(sum((row) => row.client.cpu))}`,
  fixed(sum((row) => row.client.exportSeconds ?? 0)),
  `${(sum((row) => row.client.seconds) / sum((row) => row.engine.seconds)).toFixed(1)}x`,
];
console.log(`| all | ${totals.join(' | ')} |`);
mkdirSync(dirname(values.out), { recursive: true });
const record = { benchmark: 'push-cost', engine: values.engine, at: new Date().toISOString(), rows };
writeFileSync(values.out, `${JSON.stringify(record, null, 2)}\n`);
console.log(`\nwritten to ${values.out}`);
if (rows.some((row) => row.engine.failed || row.client.failed || row.engine.fellBack)) process.exitCode = 1;

function loginOf(registry: TestRegistry) {
  return { registry: registry.address, username: registry.username, password: registry.password };
}
