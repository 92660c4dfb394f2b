import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Digest } from '../../src/registry/client.js';
import { composeImage, type Composition, type RegistryImage } from '../../src/registry/composed-image.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from '../../src/registry/media-types.js';

const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const digest = (name: string) => sha256Digest(Buffer.from(name));

/** An image of named layers: each layer's blob and diff id made from its name, one history entry each. */
function image(layers: string[], labels: Record<string, string> = {}, mediaType = OCI_MANIFEST): RegistryImage {
  return {
    manifest: {
      mediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(layers.join()), size: 1 },
      layers: layers.map((name) => ({ mediaType: LAYER, digest: digest(`blob ${name}`), size: name.length })),
    },
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin'], Labels: labels },
      rootfs: { type: 'layers', diff_ids: layers.map((name) => digest(`tar ${name}`)) },
      history: layers.map((name) => ({ created_by: name })),
    },
  };
}

const parts = (overrides: Partial<Composition> = {}): Composition => ({
  below: image(['base', 'parent']),
  image: image(['base', 'parent', 'own-1', 'own-2'], { role: 'child', kept: 'yes' }),
  onto: image(['base', 'parent', 'patch']),
  layer: { digest: digest('blob new'), size: 3, diffId: digest('tar new') },
  createdBy: 'composed',
  labels: { role: 'patched child' },
  created: '2026-12-07T18:00:00Z',
  ...overrides,
});

describe('composeImage', () => {
  it("lists onto's layers, the image's own above its former parent, then the new one; the config follows", () => {
    const composed = composeImage(parts());
    if ('refused' in composed) assert.fail(composed.refused);
    assert.deepEqual(
      composed.layers.map((layer) => layer.digest),
      ['base', 'parent', 'patch', 'own-1', 'own-2', 'new'].map((name) => digest(`blob ${name}`)),
    );
    const config = JSON.parse(composed.config.toString()) as {
      config: { Env: string[]; Labels: Record<string, string> };
      rootfs: { diff_ids: string[] };
      history: Array<{ created_by: string }>;
      created: string;
    };
    assert.deepEqual(
      config.rootfs.diff_ids,
      ['base', 'parent', 'patch', 'own-1', 'own-2', 'new'].map((name) => digest(`tar ${name}`)),
    );
    assert.deepEqual(
      config.history.map((entry) => entry.created_by),
      ['base', 'parent', 'patch', 'own-1', 'own-2', 'composed'],
    );
    assert.deepEqual(config.config.Labels, { role: 'patched child', kept: 'yes' });
    assert.deepEqual(config.config.Env, ['PATH=/usr/bin']);
    assert.equal(config.created, '2026-12-07T18:00:00Z');
    const manifest = JSON.parse(composed.manifest.toString()) as { config: { digest: string }; mediaType: string };
    assert.equal(manifest.config.digest, sha256Digest(composed.config));
    assert.equal(manifest.mediaType, OCI_MANIFEST);
  });

  it('refuses an image not made from the image onto replaces', () => {
    const composed = composeImage(parts({ below: image(['base', 'other parent']) }));
    assert.deepEqual(composed, {
      refused: 'its layers do not start with those of the image it was made from',
    });
  });

  it('refuses manifests of two kinds, and a config whose diff ids do not match its layers', () => {
    const docker = composeImage(parts({ onto: image(['base', 'parent', 'patch'], {}, DOCKER_MANIFEST) }));
    assert.match('refused' in docker ? docker.refused : '', /the image it goes onto application\/vnd\.docker/);
    const short = image(['base', 'parent', 'patch']);
    short.config.rootfs = { type: 'layers', diff_ids: [digest('tar base')] };
    const mismatched = composeImage(parts({ onto: short }));
    assert.deepEqual(mismatched, { refused: 'an image config whose diff_ids do not match its manifest' });
  });
});
