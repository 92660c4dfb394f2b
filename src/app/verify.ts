import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { createEngine } from '../engine/index.js';
import { UsageError } from '../util/errors.js';
import { ImageLayoutError } from '../util/oci-layout.js';
import { credentialNeedles, findSecretsInOciLayout } from '../verify/no-secrets.js';

/** Where a credential was found in an image, and in which form (never the value). */
export interface ImageSecrets {
  image: string;
  clean: boolean;
  findings: Array<{ where: string; form: string }>;
}

/** `verify-no-secrets`: every layer, the config and the history of each image searched for the configured credentials. */
export async function verifyNoSecrets(
  loaded: LoadedConfig,
  images: readonly string[],
  onImage: (verdict: ImageSecrets) => void,
): Promise<ImageSecrets[]> {
  const needles = credentialNeedles(loadSecrets(loaded.secretsFile, loaded.readYaml));
  if (needles.length === 0)
    throw new UsageError(
      `no credentials in the secrets file (${loaded.secretsFile ?? 'none configured'}): nothing to look for`,
    );
  const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
  const verdicts: ImageSecrets[] = [];
  for (const image of images) {
    const dir = await mkdtemp(join(tmpdir(), 'ci-builder-verify-'));
    try {
      const exported = await engine.exportOci(image, join(dir, 'layout'));
      if (!exported.ok) throw new UsageError(`${image}: cannot read the image: ${exported.failure.message}`);
      const findings = await findSecretsInOciLayout(join(dir, 'layout'), needles).catch((error: unknown) => {
        throw error instanceof ImageLayoutError ? new UsageError(`${image}: ${error.message}`) : error;
      });
      const verdict = { image, clean: findings.length === 0, findings };
      verdicts.push(verdict);
      onImage(verdict);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return verdicts;
}
