import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFlags } from '../../src/engine/config-flags.js';
import { LayerRecords } from '../../src/engine/containers-storage.js';
import { temporaryDir } from '../helpers/files.js';

describe("buildah config flags giving a working container another image's config", () => {
  const parent = {
    User: '',
    Env: ['PATH=/usr/bin', 'PARENT_ONLY=1'],
    Cmd: ['kolla_start'],
    Labels: { name: 'base', 'ci-builder.patch-layers': '1', gone: 'x' },
    ExposedPorts: { '80/tcp': {} },
  };
  const child = {
    User: 'memcache',
    Env: ['PATH=/usr/bin', 'CHILD=1'],
    Entrypoint: ['dumb-init', '--'],
    Cmd: ['kolla_start'],
    WorkingDir: '/var/lib/memcached',
    Labels: { name: 'memcached', 'ci-builder.patch-layers': '1' },
    ExposedPorts: { '11211/tcp': {} },
  };

  it("sets every field to the child's, removes what only the parent had, and puts the labels given over the child's", () => {
    const made = configFlags(child, parent, { 'ci-builder.patch-layers': '2' });
    assert.ok('flags' in made);
    assert.deepEqual(made.flags, [
      ...['--user', 'memcache', '--workingdir', '/var/lib/memcached'],
      ...['--env', 'PARENT_ONLY-', '--env', 'PATH=/usr/bin', '--env', 'CHILD=1'],
      ...['--entrypoint', '["dumb-init","--"]', '--cmd', '["kolla_start"]'],
      ...['--label', 'gone-', '--label', 'name=memcached', '--label', 'ci-builder.patch-layers=2'],
      ...['--port', '80/tcp-', '--port', '11211/tcp'],
    ]);
  });

  it('refuses a config it cannot set whole', () => {
    assert.deepEqual(configFlags({ ...child, Healthcheck: {} } as never, parent, {}), {
      unsupported: 'its config sets Healthcheck',
    });
  });
});

describe("containers-storage's layer records", () => {
  /** A store with these images, each a list of [layer id, diff digest] bottom first. */
  function store(images: Record<string, Array<[string, string]>>): string {
    const root = temporaryDir('ci-builder-store-');
    const layers = new Map<string, { id: string; parent?: string; 'diff-digest': string }>();
    for (const chain of Object.values(images)) {
      chain.forEach(([id, digest], index) =>
        layers.set(id, { id, 'diff-digest': digest, ...(index > 0 ? { parent: chain[index - 1]?.[0] } : {}) }),
      );
    }
    const records = Object.entries(images).map(([id, chain]) => ({ id, layer: chain.at(-1)?.[0] }));
    for (const [dir, file, content] of [
      ['overlay-images', 'images.json', records],
      ['overlay-layers', 'layers.json', [...layers.values()]],
    ] as const) {
      mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(join(root, dir, file), JSON.stringify(content));
    }
    return root;
  }
  const base: Array<[string, string]> = [['b1', 'sha256:b1']];
  const parent: Array<[string, string]> = [...base, ['p1', 'sha256:p1']];
  const root = store({
    base,
    patchedBase: [...base, ['bp', 'sha256:bp']],
    parent,
    child: [...parent, ['c1', 'sha256:c1'], ['c2', 'sha256:empty']],
    patchedParent: [...parent, ['pp', 'sha256:pp']],
    // The parent's own layer carried onto the patched base: the same digest under another id.
    stackedParent: [...base, ['bp', 'sha256:bp'], ['p1copy', 'sha256:p1'], ['pm', 'sha256:pm']],
  });

  it("finds a child's own layers above its parent's, bottom first", async () => {
    const records = await LayerRecords.read(root);
    assert.deepEqual(records.above('child', 'parent'), ['c1', 'c2']);
    assert.equal(records.above('child', 'patchedParent'), undefined);
  });

  it('finds what makes a patched parent differ from the parent: its patch, not a carried copy of its own layer', async () => {
    const records = await LayerRecords.read(root);
    assert.deepEqual(records.differing('patchedParent', 'parent'), ['pp']);
    assert.deepEqual(records.differing('stackedParent', 'parent'), ['bp', 'pm']);
  });
});
