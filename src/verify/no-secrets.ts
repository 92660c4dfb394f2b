import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { searchBlob } from './needle-search.js';

export interface SecretNeedle {
  /** What the form is, e.g. "pulp_password (base64 of user:password)": never the value. */
  description: string;
  value: string;
}

export interface Finding {
  where: string;
  form: string;
}

/** The forms a credential could take in an image: itself, base64 of it, base64 of user:password, user:password@. */
export function needlesFor(name: string, username: string | undefined, password: string | undefined): SecretNeedle[] {
  if (!password) return [];
  const needles: SecretNeedle[] = [
    { description: `${name}`, value: password },
    { description: `${name} (base64)`, value: Buffer.from(password).toString('base64').replace(/=+$/, '') },
  ];
  if (username) {
    needles.push({ description: `${name} (base64 of user:password)`, value: Buffer.from(`${username}:${password}`).toString('base64').replace(/=+$/, '') });
    needles.push({ description: `${name} (user:password@ in a URL)`, value: `${encodeURIComponent(username)}:${encodeURIComponent(password)}@` });
  }
  return needles;
}

interface OciIndex {
  manifests: Array<{ digest: string }>;
}
interface OciManifest {
  config: { digest: string };
  layers: Array<{ digest: string }>;
}

/** Searches an OCI image layout (index → manifest → config and every layer) for the needles. */
export async function findSecretsInOciLayout(dir: string, needles: readonly SecretNeedle[]): Promise<Finding[]> {
  const blob = (digest: string) => join(dir, 'blobs', ...digest.split(':'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as OciIndex;
  const buffers = needles.map((needle) => Buffer.from(needle.value));
  const findings: Finding[] = [];
  const record = (where: string, hits: Set<number>) => {
    for (const hit of hits) findings.push({ where, form: needles[hit]?.description ?? '' });
  };
  for (const entry of index.manifests) {
    record(`manifest ${entry.digest}`, await searchBlob(blob(entry.digest), buffers));
    const manifest = JSON.parse(await readFile(blob(entry.digest), 'utf8')) as OciManifest;
    record('image config (labels, environment, history)', await searchBlob(blob(manifest.config.digest), buffers));
    for (const layer of manifest.layers) record(`layer ${layer.digest}`, await searchBlob(blob(layer.digest), buffers));
  }
  return findings;
}
