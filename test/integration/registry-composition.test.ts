import assert from 'node:assert/strict';
import { copyFileSync, createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import { BuildahEngine } from '../../src/engine/buildah.js';
import type { ComposedLayer } from '../../src/engine/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { composeImage, pushComposedImage, type RegistryImage } from '../../src/registry/composed-image.js';
import { runProcess } from '../../src/util/process.js';
import { ok } from '../../src/util/result.js';
import { readTar } from '../../src/util/tar-stream.js';
import { forgetBuildahImages } from '../helpers/buildah-images.js';
import { temporaryDir } from '../helpers/files.js';
import { clientOf, startRegistry, type TestRegistry } from '../helpers/registry.js';

const storage = ['--storage-driver', 'overlay'];

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const ran = await runProcess(command, args, { captureStdout: true, ...(cwd ? { cwd } : {}) });
  assert.equal(ran.exitCode, 0, `${command} ${args.join(' ')}: ${ran.stderrTail.join('\n')}`);
  return ran.stdout;
}

/** A root of this host's dash and env with the libraries they load: enough to run a shell command in. */
function shellRoot(dir: string): void {
  for (const [from, to] of [
    ['/bin/dash', 'bin/sh'],
    ['/usr/bin/env', 'usr/bin/env'],
    ['/lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/libc.so.6'],
    ['/lib64/ld-linux-x86-64.so.2', 'lib64/ld-linux-x86-64.so.2'],
  ] as const) {
    mkdirSync(dirname(join(dir, to)), { recursive: true });
    copyFileSync(from, join(dir, to));
  }
  for (const folder of ['proc', 'dev', 'etc', 'tmp']) mkdirSync(join(dir, folder), { recursive: true });
}

/**
 * The registry composition on real parts: images built by buildah into the host's store and pushed to Debian's
 * registry; a child's last layer made over the store's folders (its own layers over a changed parent's), the
 * image put together at the registry from blobs already there plus that layer; then pulled back by buildah,
 * which checks every digest, and its files read.
 */
describe('a stacked image composed at the registry', { timeout: 5 * 60_000 }, () => {
  const dir = temporaryDir('ci-builder-compose-');
  const namespace = `compose-test-${Date.now()}`;
  const ref = (name: string) => `localhost/${namespace}/${name}`;
  const engine = new BuildahEngine();
  let registry: TestRegistry;
  let client: RegistryClient;
  let composed: ComposedLayer;
  let readBeforeCommit = '';
  const layerPaths: string[] = [];
  let pulledRoot = '';
  let pushedDigest = '';

  const build = async (name: string, containerfile: string, files: Record<string, string> = {}) => {
    const context = join(dir, name);
    mkdirSync(context, { recursive: true });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(context, path)), { recursive: true });
      writeFileSync(join(context, path), text);
    }
    writeFileSync(join(context, 'Containerfile'), containerfile);
    await run(
      'buildah',
      [...storage, 'bud', '--isolation', 'chroot', '-t', ref(name), '-f', 'Containerfile', '.'],
      context,
    );
  };
  const push = (name: string, tag: string) =>
    run('buildah', [
      ...storage,
      'push',
      '--tls-verify=false',
      '--creds',
      `${registry.username}:${registry.password}`,
      ref(name),
      `docker://${registry.address}/${namespace}/${name.replace(/-[ab]$/, '')}:${tag}`,
    ]);
  const registryImage = async (repository: string, tag: string): Promise<RegistryImage> => {
    const manifest = await client.getManifest(`${namespace}/${repository}`, tag);
    return { manifest, config: await client.getConfigBlob(`${namespace}/${repository}`, manifest.config.digest) };
  };

  before(async () => {
    registry = await startRegistry();
    client = clientOf(registry);
    shellRoot(join(dir, 'base', 'root'));
    await build('base', 'FROM scratch\nCOPY root/ /\nENV GREETING=hello\n');
    await build('parent-a', `FROM ${ref('base')}\nCOPY parent /etc/parent\n`, { parent: 'A\n' });
    await build(
      'child-a',
      `FROM ${ref('parent-a')}\nCOPY own /etc/own\nCOPY more /usr/share/child/more\nLABEL role=child\n`,
      {
        own: 'the child\n',
        more: 'its second layer\n',
      },
    );
    // The parent patched: one layer more over parent-a, changing what the parent holds.
    await build('parent-b', `FROM ${ref('parent-a')}\nCOPY parent /etc/parent\n`, { parent: 'B\n' });
    await push('parent-a', 'a');
    await push('child-a', 'a');
    await push('parent-b', 'b');

    const scratch = join(dir, 'scratch');
    mkdirSync(scratch);
    const made = await engine.composeLastLayer({
      image: ref('child-a'),
      below: ref('parent-a'),
      onto: ref('parent-b'),
      scratch,
      level: 1,
      edit: (root, layers) => {
        assert.equal(layers.own.length, 1, "the child's own layer (buildah bud makes one an image)");
        writeFileSync(join(root, 'etc', 'merged'), `onto ${readFileSync(join(root, 'etc', 'parent'), 'utf8')}`);
        return Promise.resolve(ok(undefined));
      },
      run: ['sh', '-c', 'read -r own < /etc/own; echo "$GREETING from $own" > /etc/ran; echo > /tmp/scratch-file'],
      read: (root) => {
        readBeforeCommit = readFileSync(join(root, 'etc', 'ran'), 'utf8');
        return Promise.resolve();
      },
      onLine: () => {},
      signal: new AbortController().signal,
    });
    assert.ok(made.ok, made.ok ? '' : made.failure.message);
    if (made.value.kind === 'refused') assert.fail(`refused: ${made.value.why}`);
    composed = made.value;
    await readTar(
      createReadStream(composed.layer.file).pipe(createGunzip()),
      () => false,
      (entry) => {
        if (entry.kind !== 'directory') layerPaths.push(entry.path);
      },
    );

    const image = composeImage({
      onto: await registryImage('parent', 'b'),
      image: await registryImage('child', 'a'),
      below: await registryImage('parent', 'a'),
      layer: composed.layer,
      createdBy: 'ci-builder: composed onto the patched parent',
      labels: { 'respin.test': 'composed' },
      created: new Date().toISOString(),
    });
    assert.ok(!('refused' in image), 'refused' in image ? image.refused : '');
    if ('refused' in image) return;
    const { file, digest, size } = composed.layer;
    pushedDigest = await pushComposedImage(
      client,
      { repository: `${namespace}/child`, tag: 'b' },
      image,
      { onto: `${namespace}/parent`, image: `${namespace}/child`, layer: { file, digest, size } },
      {
        mountFrom: [],
        chunkBytes: 32 * 1024 * 1024,
        attempts: 2,
        backoffMs: 100,
        idleMs: 10_000,
        answerMs: 10_000,
        signal: new AbortController().signal,
        onLine: () => {},
      },
    );
    await run('buildah', [
      ...storage,
      'pull',
      '--tls-verify=false',
      '--creds',
      `${registry.username}:${registry.password}`,
      `docker://${registry.address}/${namespace}/child:b`,
    ]);
    const container = (
      await run('buildah', [...storage, 'from', '--pull-never', `${registry.address}/${namespace}/child:b`])
    ).trim();
    pulledRoot = (await run('buildah', [...storage, 'mount', container])).trim();
  });

  after(async () => {
    await runProcess('buildah', [...storage, 'rm', '--all']).catch(() => undefined);
    forgetBuildahImages(namespace);
    await runProcess('buildah', [...storage, 'rmi', `${registry.address}/${namespace}/child:b`]).catch(() => undefined);
    await registry.stop();
  });

  it("holds the patched parent's files, the child's own, the edit and what the command wrote", () => {
    assert.equal(readFileSync(join(pulledRoot, 'etc', 'parent'), 'utf8'), 'B\n');
    assert.equal(readFileSync(join(pulledRoot, 'etc', 'own'), 'utf8'), 'the child\n');
    assert.equal(readFileSync(join(pulledRoot, 'usr', 'share', 'child', 'more'), 'utf8'), 'its second layer\n');
    assert.equal(readFileSync(join(pulledRoot, 'etc', 'merged'), 'utf8'), 'onto B\n');
    assert.equal(readFileSync(join(pulledRoot, 'etc', 'ran'), 'utf8'), 'hello from the child\n');
    assert.equal(readBeforeCommit, 'hello from the child\n', 'the read sees the root after the command');
  });

  it('writes one layer of only what the edit and the command changed: no /proc or /dev of the chroot', () => {
    assert.deepEqual([...layerPaths].sort(), ['etc/merged', 'etc/ran', 'tmp/scratch-file']);
  });

  it("lists the parent's layers, the child's own and the new one; config labels and history follow", async () => {
    const [parentB, childA, parentA] = await Promise.all([
      registryImage('parent', 'b'),
      registryImage('child', 'a'),
      registryImage('parent', 'a'),
    ]);
    const result = await registryImage('child', 'b');
    const own = childA.manifest.layers.slice(parentA.manifest.layers.length).map((layer) => layer.digest);
    const layerDigest = composed.kind === 'composed' ? composed.layer.digest : '';
    assert.deepEqual(
      result.manifest.layers.map((layer) => layer.digest),
      [...parentB.manifest.layers.map((layer) => layer.digest), ...own, layerDigest],
    );
    const labels = (result.config.config as { Labels: Record<string, string> }).Labels;
    assert.equal(labels.role, 'child');
    assert.equal(labels['respin.test'], 'composed');
    const history = result.config.history as Array<{ created_by?: string; empty_layer?: boolean }>;
    assert.equal(history.filter((entry) => entry.empty_layer !== true).length, result.manifest.layers.length);
    assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);
  });
});
