import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildahEngine } from '../../src/engine/buildah.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { PodmanEngine } from '../../src/engine/podman.js';
import { commandFailure, runEngineCommand } from '../../src/engine/failure.js';
import type { ProcessResult } from '../../src/util/process.js';
import { temporaryDir } from '../helpers/files.js';

const exited = (code: number, ...stderr: string[]): ProcessResult => ({
  exitCode: code,
  signal: null,
  stdout: '',
  stderrTail: stderr,
});

describe('engine failures', () => {
  it('tells an unreachable daemon or registry, a missing image and an interrupt from a failed operation', () => {
    const daemon = exited(1, 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.');
    assert.equal(commandFailure('docker build', daemon, 'build').kind, 'connection');
    const registry = exited(
      125,
      'Error: pinging container registry 127.0.0.1:5001: Get "https://127.0.0.1:5001/v2/": ' +
        'dial tcp 127.0.0.1:5001: connect: connection refused',
    );
    assert.equal(commandFailure('buildah push', registry, 'push').kind, 'connection');
    const refused = exited(125, 'Error: writing manifest: unauthorized');
    assert.equal(commandFailure('buildah push', refused, 'push').kind, 'push');
    const missing = exited(125, 'Error: nosuch: image not known');
    assert.equal(commandFailure('buildah inspect', missing, 'engine').kind, 'not-found');
    const stopped = new AbortController();
    stopped.abort();
    assert.equal(commandFailure('buildah bud', exited(143), 'build', stopped.signal).kind, 'interrupted');
  });

  it("reads a build's own output as a build failure, even where a RUN step says 'connection refused'", () => {
    const apt = exited(100, 'E: Failed to fetch http://127.0.0.1:9/debian/InRelease  Connection refused');
    assert.equal(commandFailure('buildah bud', apt, 'build').kind, 'build');
    const notFound = exited(100, 'E: Unable to locate package nosuch (image not found)');
    assert.equal(commandFailure('buildah bud', notFound, 'build').kind, 'build');
    const { message } = commandFailure('buildah bud', apt, 'build');
    assert.equal(message, `buildah bud exited with 100: ${apt.stderrTail[0]}`);
  });

  it('returns a command that cannot be started as a connection failure instead of throwing', async () => {
    const ran = await runEngineCommand('/nonexistent/ci-builder-engine', ['version']);
    assert.ok(!ran.ok);
    assert.equal(ran.failure.kind, 'connection');
    assert.match(ran.failure.message, /^cannot run \/nonexistent\/ci-builder-engine: .*ENOENT/);
  });

  for (const engine of [
    new BuildahEngine('/nonexistent/buildah'),
    new DockerEngine('/nonexistent/docker'),
    new PodmanEngine('/nonexistent/podman'),
  ]) {
    it(`${engine.name}: every operation of an engine that is not there is a failure value, none throws`, async () => {
      const signal = new AbortController().signal;
      const results = [
        await engine.build({ contextDir: '/', reference: 'r', labels: {}, onLine: () => undefined, signal }),
        await engine.push({ reference: 'r', insecure: true, onLine: () => undefined, signal }),
        await engine.findByLabel('k', 'v'),
        await engine.inspect('r'),
        await engine.exists('r'),
        await engine.tag('i', 'r'),
        await engine.remove('r'),
        await engine.run({ reference: 'r', command: ['true'] }),
        await engine.storagePath(),
        await engine.listContainers(),
        await engine.removeContainers(['c']),
      ];
      for (const result of results) assert.deepEqual(result.ok ? 'ok' : result.failure.kind, 'connection');
    });
  }
  it("runs a command again when buildah's re-execution of itself lost the race to seal its copy", async () => {
    // Fails as containers/storage's re-exec fails, on its first two runs; the third does the work.
    const dir = temporaryDir('ci-builder-reexec-');
    const script = join(dir, 'engine');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `echo run >> ${dir}/runs`,
        `[ "$(wc -l < ${dir}/runs)" -ge 3 ] && { echo done; exit 0; }`,
        'echo "Close_Fd sealing memfd copy: Device or resource busy" >&2',
        'exit 1',
      ].join('\n'),
      { mode: 0o755 },
    );
    const ran = await runEngineCommand(script, [], { captureStdout: true });
    assert.ok(ran.ok);
    assert.equal(ran.value.exitCode, 0);
    assert.equal(ran.value.stdout.trim(), 'done');
    // A command failing otherwise is run once.
    writeFileSync(script, `#!/bin/sh\necho run >> ${dir}/other\necho "Error: no such image" >&2\nexit 125\n`);
    const failed = await runEngineCommand(script, []);
    assert.ok(failed.ok);
    assert.equal(failed.value.exitCode, 125);
    assert.equal(readFileSync(join(dir, 'other'), 'utf8'), 'run\n');
  });
});
