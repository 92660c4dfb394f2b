import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { commandFailure } from '../../src/engine/failure.js';
import { createEngine } from '../../src/engine/index.js';
import { firstImageId, PodmanEngine, podmanServiceUrl } from '../../src/engine/podman.js';
import { PodmanStackThroughBuildah } from '../../src/engine/podman-stack.js';
import type { EngineFailure, StackRequest } from '../../src/engine/types.js';
import { checkPodmanStacking } from '../../src/doctor/engine-checks.js';
import { canStack } from '../../src/run/image-work.js';
import { commandOnPath } from '../../src/util/command-on-path.js';
import { fail, ok, type Result } from '../../src/util/result.js';
import type { ProcessResult } from '../../src/util/process.js';
import { ConfigError } from '../../src/util/errors.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const exited = (code: number, ...stderr: string[]): ProcessResult => ({
  exitCode: code,
  signal: null,
  stdout: '',
  stderrTail: stderr,
});

const config = (extra: string) =>
  writeTree(temporaryDir(), {
    'config.yml': `release: zed
namespace: ns
images_dirs: [images]
engine: podman
distros:
  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }
${extra}`,
  });

describe('podman adapter', () => {
  it('takes the service from engine_url, else CONTAINER_HOST, else uses the local podman', () => {
    const env = { CONTAINER_HOST: 'unix:///run/podman/podman.sock' };
    assert.equal(podmanServiceUrl('tcp://127.0.0.1:8888', env), 'tcp://127.0.0.1:8888');
    assert.equal(podmanServiceUrl(undefined, env), 'unix:///run/podman/podman.sock');
    assert.equal(podmanServiceUrl(undefined, { CONTAINER_HOST: '' }), undefined);
    assert.equal(podmanServiceUrl(undefined, {}), undefined);
  });

  it('reads the first image id of a listing, in the form inspect gives', () => {
    const id = 'a'.repeat(64);
    assert.equal(firstImageId(`sha256:${id}\nsha256:${'b'.repeat(64)}\n`), id);
    assert.equal(firstImageId(`\n  ${id}  \n`), id);
    assert.equal(firstImageId(''), undefined);
    assert.equal(firstImageId('\n\n'), undefined);
  });

  it('reads an unreachable podman service as a connection failure', () => {
    const refused = exited(
      125,
      'Error: unable to connect to Podman socket: Get "http://d/v4.3.1/libpod/_ping": ' +
        'dial unix /run/podman/podman.sock: connect: no such file or directory',
    );
    assert.equal(commandFailure('podman build', refused, 'build').kind, 'connection');
    const cannot = exited(125, 'Cannot connect to Podman. Please verify your connection to the Linux system');
    assert.equal(commandFailure('podman image', cannot, 'engine').kind, 'connection');
  });

  it('through a socket nobody listens on, every operation is a connection failure naming podman', async () => {
    const engine = new PodmanEngine('podman', `unix://${join(temporaryDir(), 'none.sock')}`);
    const signal = new AbortController().signal;
    const contextDir = temporaryDir();
    const results = [
      await engine.build({ contextDir, reference: 'localhost/r:1', labels: {}, onLine: () => undefined, signal }),
      await engine.push({ reference: 'localhost/r:1', insecure: true, onLine: () => undefined, signal }),
      await engine.findByLabel('k', 'v'),
      await engine.inspect('localhost/r:1'),
      await engine.exists('localhost/r:1'),
      await engine.tag('i', 'localhost/r:1'),
      await engine.remove('localhost/r:1'),
      await engine.run({ reference: 'localhost/r:1', command: ['true'] }),
      await engine.storagePath(),
      await engine.exportOci('localhost/r:1', temporaryDir()),
      await engine.listContainers(),
      await engine.removeContainers(['c']),
    ];
    for (const result of results) {
      assert.ok(!result.ok);
      assert.equal(result.failure.kind, 'connection', result.failure.message);
      assert.match(result.failure.message, /^podman \S+ exited with 125: .*Podman/);
    }
  });

  it('gets engine_url from the config; a URL of another scheme is refused, naming the key', () => {
    const loaded = loadConfig({ configDir: config('engine_url: unix:///run/podman/podman.sock\n'), env: {} });
    assert.equal(loaded.config.engine_url, 'unix:///run/podman/podman.sock');
    assert.equal(createEngine(loaded.config.engine, { url: loaded.config.engine_url, env: {} }).name, 'podman');
    assert.throws(
      () => loadConfig({ configDir: config('engine_url: http://127.0.0.1:8080\n'), env: {} }),
      (error: unknown) =>
        error instanceof ConfigError && error.keyPath === 'engine_url' && /podman service URL/.test(error.message),
    );
  });
});

describe('podman stacking through buildah on the store the two share', () => {
  /** A folder on PATH holding an executable `buildah` (never run here). */
  const pathWithBuildah = () => {
    const bin = writeTree(temporaryDir(), { buildah: '#!/bin/sh\nexit 1\n' });
    chmodSync(join(bin, 'buildah'), 0o755);
    return bin;
  };

  it('a local podman stacks where buildah is on PATH; through a service, or without buildah, it does not', () => {
    const bin = pathWithBuildah();
    assert.equal(canStack(createEngine('podman', { env: { PATH: `/nonexistent:${bin}` } })), true);
    assert.equal(canStack(createEngine('podman', { env: { PATH: temporaryDir() } })), false);
    assert.equal(
      canStack(createEngine('podman', { url: 'unix:///run/podman/podman.sock', env: { PATH: bin } })),
      false,
    );
    assert.equal(canStack(new PodmanEngine('podman', 'tcp://127.0.0.1:8888', join(bin, 'buildah'))), false);
  });

  it('doctor says where a local podman cannot stack, and what to install; nothing for a service or another engine', async () => {
    assert.deepEqual(await checkPodmanStacking('podman', undefined, { PATH: temporaryDir() }), {
      check: 'respin stacking',
      status: 'warn',
      detail:
        'buildah is not installed: a respin patches each child of a patched image as a whole, or rebuilds it on its parent',
      fix: 'apt-get install buildah',
    });
    const bin = pathWithBuildah();
    assert.equal(await checkPodmanStacking('podman', 'unix:///run/podman/podman.sock', { PATH: bin }), undefined);
    assert.equal(await checkPodmanStacking('docker', undefined, { PATH: bin }), undefined);
  });

  it('finds a command as a shell would: the first executable file of that name on PATH', () => {
    const [notExecutable, folderOnly, executable] = [temporaryDir(), temporaryDir(), pathWithBuildah()];
    writeTree(notExecutable, { buildah: 'not a program' });
    mkdirSync(join(folderOnly, 'buildah'));
    const PATH = ['', notExecutable, folderOnly, executable].join(':');
    assert.equal(commandOnPath('buildah', { PATH }), join(executable, 'buildah'));
    assert.equal(commandOnPath('buildah', { PATH: `${notExecutable}:${folderOnly}` }), undefined);
    assert.equal(commandOnPath('buildah', {}), undefined);
  });

  const podmanInfo = (graphRoot: string, driver = 'overlay') =>
    JSON.stringify({ store: { graphRoot, runRoot: '/run/containers/storage', graphDriverName: driver } });
  const buildahInfo = (graphRoot: string) =>
    JSON.stringify({
      store: { GraphRoot: graphRoot, RunRoot: '/run/containers/storage', GraphDriverName: 'overlay' },
    });
  const request = {
    image: 'a',
    below: 'b',
    onto: 'c',
    reference: 'localhost/r:1',
    labels: {},
    edit: () => Promise.resolve(ok(undefined)),
    onLine: () => undefined,
    signal: new AbortController().signal,
  } satisfies StackRequest;
  const podman = {
    command: 'podman',
    inspect: () => Promise.resolve(fail<EngineFailure>({ kind: 'engine', message: 'unused' })),
  };

  it("refuses to stack, naming both stores, where podman's store is not buildah's", async () => {
    for (const [answer, seen] of [
      [podmanInfo('/srv/podman-storage'), '/srv/podman-storage, /run/containers/storage, overlay'],
      [podmanInfo('/var/lib/containers/storage', 'vfs'), '/var/lib/containers/storage, /run/containers/storage, vfs'],
    ] as const) {
      const ask = (command: string) =>
        Promise.resolve(ok(command === 'podman' ? answer : buildahInfo('/var/lib/containers/storage')));
      const stacked = await new PodmanStackThroughBuildah(podman, '/usr/bin/buildah', ask).stack(request);
      assert.ok(stacked.ok);
      assert.deepEqual(stacked.value, {
        kind: 'refused',
        why: `podman's store (${seen}) is not buildah's (/var/lib/containers/storage, /run/containers/storage, overlay)`,
      });
    }
  });

  it('on one store, stacks with buildah; a failed question about the stores is asked again by the next stack', async () => {
    const asked: string[] = [];
    let answers = 0;
    const ask = (command: string): Promise<Result<string, EngineFailure>> => {
      asked.push(command);
      if (answers++ === 0) return Promise.resolve(fail({ kind: 'engine', message: 'podman info exited with 125' }));
      return Promise.resolve(ok((command === 'podman' ? podmanInfo : buildahInfo)('/var/lib/containers/storage')));
    };
    // buildah is named by a path that does not exist: the stack gets as far as running it.
    const stacker = new PodmanStackThroughBuildah(podman, '/nonexistent/buildah', ask);
    const first = await stacker.stack(request);
    assert.ok(!first.ok);
    assert.equal(first.failure.message, 'podman info exited with 125');
    const second = await stacker.stack(request);
    assert.ok(!second.ok);
    assert.match(second.failure.message, /\/nonexistent\/buildah/);
    assert.deepEqual(asked, ['podman', '/nonexistent/buildah', 'podman', '/nonexistent/buildah']);
    await stacker.stack(request);
    assert.equal(asked.length, 4, 'the stores are asked about once they answered');
  });
});
