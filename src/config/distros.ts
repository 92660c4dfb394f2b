import { UsageError } from '../util/errors.js';
import type { Config } from './schema.js';

/** The distros asked for, or the configured default (else the first configured); an unknown one is a usage error. */
export function chosenDistros(config: Config, asked: readonly string[] | undefined): string[] {
  const configured = Object.keys(config.distros);
  const distros = asked && asked.length > 0 ? [...new Set(asked)] : [config.default_distro ?? configured[0] ?? ''];
  for (const distro of distros) {
    if (!configured.includes(distro))
      throw new UsageError(`unknown distro "${distro}" (configured: ${configured.join(', ')})`);
  }
  return distros;
}
