import { isAbsolute, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Secrets } from '../config/secrets-schema.js';
import { isPulpRepository, pinnedContentPath } from '../repos/urls.js';
import { cacheDir as hostCacheDir } from '../util/cache-dir.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';
import { ContentCache } from './content-cache.js';
import type { ProxyLimits } from './limits.js';
import type { ListenAddress } from './listen.js';
import type { MirrorRoute } from '../repos/mirror-routes.js';
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

const GIB = 1024 ** 3;

/** The proxy for the configured Pulp, with the credential from the secrets file. */
export function proxyFromConfig(loaded: LoadedConfig, secrets: Secrets, options: ProxyFromConfigOptions): AuthProxy {
  const { config } = loaded;
  if (config.pulp === undefined) throw new UsageError('the auth proxy needs pulp.url in the config');
  const cacheDir =
    options.cacheDir === null
      ? undefined
      : (options.cacheDir ??
        (config.proxy.cache_dir === undefined ? undefined : relativeTo(loaded, config.proxy.cache_dir)));
  if (cacheDir) checkOutputDir(cacheDir, options.cacheDir ? '--cache-dir' : 'proxy.cache_dir');
  return new AuthProxy({
    upstream: config.pulp.url,
    credentials: pulpCredentials(loaded, secrets),
    listen: options.listen,
    ...(config.pulp.ca_file ? { caFile: relativeTo(loaded, config.pulp.ca_file) } : {}),
    ...(cacheDir ? { cache: contentCache(loaded, cacheDir, options.onWarning) } : {}),
    ...proxyHooks(options),
  });
}

export interface RunProxyOptions {
  listen: ListenAddress;
  /** Pulp's content route gets the credential (build --auth-proxy). */
  authProxy: boolean;
  onAccess?: (entry: AccessLogEntry) => void;
  onWarning?: (line: string) => void;
}

/**
 * A build run's package cache: every configured repository through one loopback proxy. Plain
 * mirrors get a route each (`/mirrors/<distro>/<name>/`, no credential); Pulp keeps
 * `/pulp/content/`, with its credential only with --auth-proxy. The cache folder is
 * proxy.cache_dir, else `<cache dir>/packages`.
 */
export function packageCacheProxy(loaded: LoadedConfig, secrets: Secrets, options: RunProxyOptions): AuthProxy {
  const { config } = loaded;
  if (options.authProxy && config.pulp === undefined)
    throw new UsageError('the auth proxy needs pulp.url in the config');
  const mirrors: MirrorRoute[] = Object.entries(config.distros).flatMap(([distro, settings]) =>
    settings.repositories.flatMap((repo) =>
      repo.url === undefined ? [] : [{ distro, name: repo.name, url: repo.url }],
    ),
  );
  for (const mirror of mirrors) {
    const url = new URL(mirror.url);
    if (url.username || url.password || url.search)
      throw new UsageError(
        `distros.${mirror.distro}.repositories ${mirror.name}: the package cache forwards to plain mirror URLs without credentials or query (${url.origin}${url.pathname})`,
      );
  }
  const cacheDir =
    config.proxy.cache_dir === undefined
      ? join(hostCacheDir(), 'packages')
      : checkOutputDir(relativeTo(loaded, config.proxy.cache_dir), 'proxy.cache_dir');
  return new AuthProxy({
    ...(config.pulp ? { upstream: config.pulp.url } : {}),
    ...(options.authProxy ? { credentials: pulpCredentials(loaded, secrets) } : {}),
    mirrors,
    listen: options.listen,
    ...(config.pulp?.ca_file ? { caFile: relativeTo(loaded, config.pulp.ca_file) } : {}),
    cache: contentCache(loaded, cacheDir, options.onWarning),
    ...proxyHooks(options),
  });
}

function pulpCredentials(loaded: LoadedConfig, secrets: Secrets): { username: string; password: string } {
  if (!secrets.pulp_username || !secrets.pulp_password) {
    throw new UsageError(
      `the auth proxy needs pulp_username and pulp_password in the secrets file (${loaded.secretsFile ?? 'secrets: is not set in the config'})`,
    );
  }
  return { username: secrets.pulp_username, password: secrets.pulp_password };
}

function contentCache(
  loaded: LoadedConfig,
  dir: string,
  onWarning: ((line: string) => void) | undefined,
): ContentCache {
  const { config } = loaded;
  const pinned = Object.values(config.distros).flatMap((distro) =>
    distro.repositories.filter(isPulpRepository).map(pinnedContentPath),
  );
  return new ContentCache(dir, pinned, onWarning, { maxBytes: Math.floor(config.proxy.cache_max_gib * GIB) });
}

function proxyHooks(options: Omit<ProxyFromConfigOptions, 'listen' | 'cacheDir'>) {
  return {
    ...(options.onAccess ? { onAccess: options.onAccess } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  };
}

function relativeTo(loaded: LoadedConfig, path: string): string {
  return isAbsolute(path) ? path : resolve(loaded.configDir, path);
}
