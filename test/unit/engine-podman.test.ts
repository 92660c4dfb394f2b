import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { commandFailure } from '../../src/engine/failure.js';
import { createEngine } from '../../src/engine/index.js';
import { firstImageId, PodmanEngine, podmanServiceUrl } from '../../src/engine/podman.js';
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
