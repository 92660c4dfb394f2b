import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Secrets } from '../config/secrets-schema.js';
import { isPulpRepository, pinnedContentPath } from '../repos/urls.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';
import { ContentCache } from './content-cache.js';
import type { ProxyLimits } from './limits.js';
import type { ListenAddress } from './listen.js';
import { AuthProxy, type AccessLogEntry } from './server.js';

export interface ProxyFromConfigOptions {
  listen: ListenAddress;
  /** Overrides proxy.cache_dir from the config; null turns the cache off. */
  cacheDir?: string | null;
  onAccess?: (entry: AccessLogEntry) => void;
  /** One-line warnings (cache not writable, a limit reached); default: stderr. */
  onWarning?: (line: string) => void;
  limits?: Partial<ProxyLimits>;
}

/** The proxy for the configured Pulp, with the credential from the secrets file. */
export function proxyFromConfig(loaded: LoadedConfig, secrets: Secrets, options: ProxyFromConfigOptions): AuthProxy {
  const { config } = loaded;
  if (config.pulp === undefined) throw new UsageError('the auth proxy needs pulp.url in the config');
  if (!secrets.pulp_username || !secrets.pulp_password) {
    throw new UsageError(
      `the auth proxy needs pulp_username and pulp_password in the secrets file (${loaded.secretsFile ?? 'secrets: is not set in the config'})`,
    );
  }
  const relativeToConfig = (path: string) => (isAbsolute(path) ? path : resolve(loaded.configDir, path));
  const cacheDir =
    options.cacheDir === null
      ? undefined
      : (options.cacheDir ??
        (config.proxy.cache_dir === undefined ? undefined : relativeToConfig(config.proxy.cache_dir)));
  if (cacheDir) checkOutputDir(cacheDir, options.cacheDir ? '--cache-dir' : 'proxy.cache_dir');
  const pinned = Object.values(config.distros).flatMap((distro) =>
    distro.repositories.filter(isPulpRepository).map(pinnedContentPath),
  );
  return new AuthProxy({
    upstream: config.pulp.url,
    credentials: { username: secrets.pulp_username, password: secrets.pulp_password },
    listen: options.listen,
    ...(config.pulp.ca_file ? { caFile: relativeToConfig(config.pulp.ca_file) } : {}),
    ...(cacheDir ? { cache: new ContentCache(cacheDir, pinned, options.onWarning) } : {}),
    ...(options.onAccess ? { onAccess: options.onAccess } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
}
