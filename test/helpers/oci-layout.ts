import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { temporaryDir } from './files.js';

/** A tar of a folder made by GNU tar, in the format asked for. */
export function tarOf(files: Record<string, string | Buffer>, format: 'gnu' | 'pax' | 'ustar' = 'gnu'): Buffer {
  const dir = temporaryDir();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const target = join(temporaryDir(), 'layer.tar');
  execFileSync('tar', ['--create', `--format=${format}`, '--file', target, '--directory', dir, '.']);
  return readFileSync(target);
}

const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** An OCI image layout holding the given layers, lowest first, as an engine exports it. */
export function ociLayout(layers: Buffer[]): string {
  const dir = temporaryDir();
  const blobs = join(dir, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string) => {
    const digest = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(blobs, digest), data);
    return `sha256:${digest}`;
  };
  const config = put('{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
    layers: layers.map((layer) => ({ mediaType: LAYER_TYPE, digest: put(layer), size: layer.length })),
  });
  const manifestDigest = put(manifest);
  const entry = { mediaType: MANIFEST_TYPE, digest: manifestDigest, size: manifest.length };
  const index = { schemaVersion: 2, manifests: [entry] };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}
