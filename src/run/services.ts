import type { WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { countersSince, type PackageCacheCounters } from '../proxy/counters.js';
import { packageCacheProxy, proxyFromConfig } from '../proxy/from-config.js';
import { formatAccessLog, type AccessLogEntry, type AuthProxy } from '../proxy/server.js';
import type { RepositoryAccess } from '../repos/urls.js';
import { createAppendStream } from '../util/append-stream.js';
import { WorkFailedError, errorMessage } from '../util/errors.js';
import type { PushSettings } from './push-image.js';
import { isLoopbackRegistry, runSecretForms, secretScrubber, writeRegistryAuth } from './registry-auth.js';
import type { RunSettings } from './settings.js';

/** First wait between two push attempts of one image; doubled each time. */
const PUSH_BACKOFF_MS = 2000;

/**
 * What the runs of one command share and must stop when it ends: the registry credential file, the
 * proxy (auth proxy and package cache) with its access log, and the scrubber of every secret the run
 * knows. Opened once, disposed once, whatever happened in between.
 */
export interface RunServices {
  /** How images reach the registry, when the run pushes. */
  push?: PushSettings;
  /** Hides every form of every secret the run knows from a line of text. */
  scrub: (text: string) => string;
  /** How a distro's builds reach the repositories: through the run's proxy, or directly (undefined). */
  repositoryAccess(distro: string): RepositoryAccess | undefined;
  /**
   * Starts a run folder's use of the services: the proxy's access log goes to its `proxy-access.log`.
   * The returned function reads the package cache's counters since then (undefined without the cache).
   */
  beginRun(runDir: string): Promise<(() => PackageCacheCounters) | undefined>;
  dispose(): Promise<void>;
}

/** Opens the services the settings ask for; on a failure, what was opened is closed again. */
export async function openRunServices(loaded: LoadedConfig, settings: RunSettings): Promise<RunServices> {
  const { config } = loaded;
  const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
  const disposers: Array<() => Promise<void> | void> = [];
  const dispose = async () => {
    for (const each of disposers.reverse()) await each();
  };
  try {
    let push: PushSettings | undefined;
    if (settings.push) {
      const { registry_username: username, registry_password: password } = secrets;
      const { registry, registry_token_hosts: tokenHosts } = config;
      const auth = username && password ? await writeRegistryAuth(registry, username, password, tokenHosts) : undefined;
      if (auth) disposers.push(() => auth.dispose());
      push = {
        threads: settings.pushThreads,
        attempts: settings.pushAttempts,
        backoffMs: PUSH_BACKOFF_MS,
        insecure: config.registry_insecure ?? isLoopbackRegistry(config.registry),
        ...(auth ? { authFile: auth.file, login: auth.login } : {}),
      };
    }
    let accessLog: WriteStream | undefined;
    disposers.push(() => void accessLog?.end());
    let proxy: AuthProxy | undefined;
    let origin: string | undefined;
    if (settings.packageCache || settings.authProxy) {
      const listen = { host: '127.0.0.1', port: 0 };
      const onAccess = (entry: AccessLogEntry) => accessLog?.write(`${formatAccessLog(entry)}\n`);
      const started = settings.packageCache
        ? packageCacheProxy(loaded, secrets, { listen, authProxy: settings.authProxy, onAccess })
        : proxyFromConfig(loaded, secrets, { listen, onAccess });
      proxy = started;
      origin = await started.start();
      disposers.push(() => started.stop());
      if (settings.authProxy) {
        await started.waitForUpstream(config.proxy.wait_seconds * 1000).catch((error: unknown) => {
          throw new WorkFailedError(`auth proxy: ${errorMessage(error)}`);
        });
      }
    }
    const scrub = secretScrubber(runSecretForms(secrets, loaded.vaultPassword()));
    const cache = settings.packageCache ? proxy : undefined;
    return {
      ...(push ? { push } : {}),
      scrub,
      repositoryAccess: (distro) =>
        origin === undefined
          ? undefined
          : { kind: 'proxy', origin, ...(settings.packageCache ? { mirrorRoutes: { distro } } : {}) },
      beginRun: async (runDir) => {
        if (proxy === undefined) return undefined;
        await mkdir(runDir, { recursive: true });
        accessLog?.end();
        accessLog = createAppendStream(join(runDir, 'proxy-access.log'));
        if (cache === undefined) return undefined;
        const before = cache.counters();
        return () => countersSince(cache.counters(), before);
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
