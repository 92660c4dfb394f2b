import type { LoadedConfig } from '../config/load.js';
import { redactSecrets } from '../config/redact.js';
import { loadSecrets } from '../config/secrets.js';

/** `config show`: the effective configuration, every secret redacted. */
export interface ShownConfig {
  files: string[];
  environment: string | null;
  config: unknown;
}

export function effectiveConfig(loaded: LoadedConfig): ShownConfig {
  const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
  const effective = {
    ...loaded.config,
    images_dirs: loaded.imagesDirs,
    secrets: loaded.secretsFile === undefined ? null : { file: loaded.secretsFile, values: redactSecrets(secrets) },
  };
  return { files: loaded.files, environment: loaded.environment ?? null, config: redactSecrets(effective) };
}
