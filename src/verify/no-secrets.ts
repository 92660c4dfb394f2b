import { join } from 'node:path';
import type { Secrets } from '../config/secrets-schema.js';
import { blobPath, ImageLayoutError, readLayoutDocument } from '../util/oci-layout.js';
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

/**
 * The forms a credential could take in an image, a log or a summary: itself, base64 of it,
 * user:password plain and in base64, and user:password@ as a URL carries it.
 */
export function needlesFor(name: string, username: string | undefined, password: string | undefined): SecretNeedle[] {
  if (!password) return [];
  const user = username ?? '';
  const base64 = (text: string) => Buffer.from(text).toString('base64').replace(/=+$/, '');
  return [
    { description: `${name}`, value: password },
    { description: `${name} (base64)`, value: base64(password) },
    { description: `${name} (user:password)`, value: `${user}:${password}` },
    { description: `${name} (base64 of user:password)`, value: base64(`${user}:${password}`) },
    {
      description: `${name} (user:password@ in a URL)`,
      value: `${encodeURIComponent(user)}:${encodeURIComponent(password)}@`,
    },
  ];
}

/** Every configured credential, in every form: what must never be found, and what logs hide. */
export function credentialNeedles(secrets: Secrets): SecretNeedle[] {
  return [
    ...needlesFor('registry_password', secrets.registry_username, secrets.registry_password),
    ...needlesFor('pulp_password', secrets.pulp_username, secrets.pulp_password),
  ];
}

/** Searches an OCI image layout (index → manifest → config and every layer) for the needles. */
export async function findSecretsInOciLayout(dir: string, needles: readonly SecretNeedle[]): Promise<Finding[]> {
  const blob = (digest: string) => blobPath(dir, digest);
  const index = await readLayoutDocument(join(dir, 'index.json'));
  const buffers = needles.map((needle) => Buffer.from(needle.value));
  const findings: Finding[] = [];
  const record = (where: string, hits: Set<number>) => {
    for (const hit of hits) findings.push({ where, form: needles[hit]?.description ?? '' });
  };
  for (const entry of index.manifests ?? []) {
    record(`manifest ${entry.digest}`, await searchBlob(blob(entry.digest), buffers));
    const manifest = await readLayoutDocument(blob(entry.digest));
    if (manifest.config === undefined) throw new ImageLayoutError(`${blob(entry.digest)}: no config in the manifest`);
    record('image config (labels, environment, history)', await searchBlob(blob(manifest.config.digest), buffers));
    for (const layer of manifest.layers ?? []) {
      record(`layer ${layer.digest}`, await searchBlob(blob(layer.digest), buffers));
    }
  }
  return findings;
}
