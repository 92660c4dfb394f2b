import type { WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Catalog } from '../catalog/types.js';
import type { LoadedConfig } from '../config/load.js';
import type { Secrets } from '../config/secrets-schema.js';
import type { Builder } from '../engine/builders.js';
import type { Engine } from '../engine/types.js';
import { runTag } from '../plan/naming.js';
import { makePlan } from '../plan/make-plan.js';
import { countersSince } from '../proxy/counters.js';
import { packageCacheProxy, proxyFromConfig } from '../proxy/from-config.js';
import { formatAccessLog, type AccessLogEntry, type AuthProxy } from '../proxy/server.js';
import { EventBus, type Reporter } from '../report/events.js';
import { HtmlReportReporter } from '../report/html-report.js';
import { LogFilesReporter } from '../report/log-files.js';
import { SummaryCollector, type RunSummary } from '../report/summary.js';
import type { RepositoryAccess } from '../repos/urls.js';
import { restrictPlanToShard } from '../shard/restrict-plan.js';
import { shardLabel, type ShardChoice, type ShardOwners } from '../shard/shard-plan-file.js';
import { createAppendStream } from '../util/append-stream.js';
import { cacheDir } from '../util/cache-dir.js';
import { WorkFailedError, errorMessage } from '../util/errors.js';
import { withRunScratch } from '../util/run-scratch.js';
import { executeBuildRun, type ImageGate, type PushSettings } from './build-run.js';
import { recordedImages } from './recorded-images.js';
import { isLoopbackRegistry, runSecretForms, secretScrubber, writeRegistryAuth } from './registry-auth.js';
import type { RegistryAuth } from './registry-auth.js';

export const RUNS_DIR = '.ci-builder/runs';

export interface BuildRunsRequest {
  loaded: LoadedConfig;
  catalog: Catalog;
  secrets: Secrets;
  engine: Engine;
  /** More than one: each run is spread over them, every image pushed as it is built (the hand-off). */
  builders?: readonly Builder[];
  distros: readonly string[];
  regexes: readonly string[] | null;
  skipParents: boolean;
  /** kolla-build's --skip-existing: an image already in the engine at the run's tag is left as it is. */
  skipExisting?: boolean;
  /** Rebuild every image from its first step (no reuse, no layer cache). */
  noCache?: boolean;
  /** One tag for every run; default `<release>-<distro>-<version>-<timestamp>` per distro. */
  tag?: string;
  runDir?: string;
  push: boolean;
  authProxy: boolean;
  /** Every repository through the run's caching proxy; default proxy.package_cache. */
  packageCache?: boolean;
  /** The gate of each run's images (the pipeline scans there), given the run's own events. */
  gate?: (run: { distro: string; tag: string; runDir: string; events: EventBus }) => ImageGate;
  /** Build one shard of the selection only; other shards' parents are taken from the registry. */
  shard?: ShardRequest;
  /** The progress reporter of each run (live view, plain lines or JSON). */
  progress: () => Reporter;
  signal: AbortSignal;
}

export interface ShardRequest {
  choice: ShardChoice;
  owners: ShardOwners;
  /** Where the owners come from (the plan file, or the partition made here), as errors name it. */
  source: string;
  waitMs: number;
}

/** Time between two looks at the registry for a parent another shard builds. */
const SHARD_POLL_MS = 5000;

export interface FinishedRun {
  runDir: string;
  summary: RunSummary;
  exitCode: 0 | 1 | 130;
}

/**
 * One run per distro, sharing the timestamp, the registry credential file and the auth
 * proxy; each run gets its folder with logs, summary and report.
 */
export function runBuilds(request: BuildRunsRequest, onFinished: (run: FinishedRun) => void): Promise<FinishedRun[]> {
  return withRunScratch(() => runBuildsIn(request, onFinished));
}

async function runBuildsIn(request: BuildRunsRequest, onFinished: (run: FinishedRun) => void): Promise<FinishedRun[]> {
  const { config } = request.loaded;
  const { secrets } = request;
  const startedAt = new Date();
  const finished: FinishedRun[] = [];
  let auth: RegistryAuth | undefined;
  let proxy: AuthProxy | undefined;
  let accessLog: WriteStream | undefined;
  let proxyOrigin: string | undefined;
  const packageCache = request.packageCache ?? packageCacheByDefault(request.loaded);
  try {
    const spread = (request.builders?.length ?? 0) > 1;
    const pushing = request.push || spread;
    if (pushing && secrets.registry_username && secrets.registry_password) {
      const { registry, registry_token_hosts: tokenHosts } = config;
      auth = await writeRegistryAuth(registry, secrets.registry_username, secrets.registry_password, tokenHosts);
    }
    if (packageCache || request.authProxy) {
      const listen = { host: '127.0.0.1', port: 0 };
      const onAccess = (entry: AccessLogEntry) => accessLog?.write(`${formatAccessLog(entry)}\n`);
      proxy = packageCache
        ? packageCacheProxy(request.loaded, secrets, { listen, authProxy: request.authProxy, onAccess })
        : proxyFromConfig(request.loaded, secrets, { listen, onAccess });
      proxyOrigin = await proxy.start();
      if (request.authProxy) {
        await proxy.waitForUpstream(config.proxy.wait_seconds * 1000).catch((error: unknown) => {
          throw new WorkFailedError(`auth proxy: ${errorMessage(error)}`);
        });
      }
    }
    const scrub = secretScrubber(runSecretForms(secrets, request.loaded.vaultPassword()));
    const push: PushSettings | undefined = pushing
      ? {
          threads: config.push_threads,
          attempts: config.push_attempts,
          backoffMs: 2000,
          insecure: config.registry_insecure ?? isLoopbackRegistry(config.registry),
          ...(auth ? { authFile: auth.file, login: auth.login } : {}),
        }
      : undefined;

    for (const distro of request.distros) {
      if (request.signal.aborted) break;
      const tag = request.tag ?? runTag(config.release, distro, config.distros[distro]?.version ?? '', startedAt);
      const repositoryAccess: RepositoryAccess | undefined =
        proxyOrigin === undefined
          ? undefined
          : { kind: 'proxy', origin: proxyOrigin, ...(packageCache ? { mirrorRoutes: { distro } } : {}) };
      const plan = await makePlan({
        config,
        catalog: request.catalog,
        distro,
        tag,
        engine: request.engine.name,
        selection: { regexes: request.regexes, skipParents: request.skipParents },
        renderInputs: request.loaded.renderInputs,
        cacheDir: cacheDir(),
        fetchSources: true,
        signal: request.signal,
        ...(repositoryAccess ? { repositoryAccess } : {}),
      });
      const shard = request.shard;
      const sharded = shard ? restrictPlanToShard(plan, shard.choice, shard.owners, shard.source) : undefined;
      const runDir = resolve(request.runDir ?? join(RUNS_DIR, tag));
      if (proxy) {
        await mkdir(runDir, { recursive: true });
        accessLog?.end();
        accessLog = createAppendStream(join(runDir, 'proxy-access.log'));
      }
      const events = new EventBus(scrub);
      const summary = new SummaryCollector(plan.selection.unmatchedRegexes);
      if (shard) summary.summary.shard = shardLabel(shard.choice);
      for (const reporter of [
        summary,
        new LogFilesReporter(runDir),
        new HtmlReportReporter(runDir, summary),
        request.progress(),
      ])
        events.attach(reporter);
      const countedBefore = proxy?.counters();
      // Earlier runs' images by input digest, read after the previous distro's run wrote its summary.
      const recorded = request.noCache ? undefined : await recordedImages(resolve(RUNS_DIR));
      const runProxy = packageCache ? proxy : undefined;
      const result = await executeBuildRun({
        plan: sharded?.plan ?? plan,
        engine: request.engine,
        ...(spread && request.builders ? { builders: request.builders } : {}),
        runDir,
        cacheDir: join(cacheDir(), 'bootstrap'),
        threads: config.threads,
        retries: config.retries,
        skipExisting: request.skipExisting ?? false,
        noCache: request.noCache ?? false,
        ...(recorded ? { recordedImages: recorded } : {}),
        events,
        summary,
        signal: request.signal,
        ...(push ? { push } : {}),
        ...(shard && sharded
          ? {
              shard: {
                label: shardLabel(shard.choice),
                fromOtherShards: sharded.fromOtherShards,
                waitMs: shard.waitMs,
                pollMs: SHARD_POLL_MS,
              },
            }
          : {}),
        ...(runProxy && countedBefore ? { packageCache: () => countersSince(runProxy.counters(), countedBefore) } : {}),
        ...(request.gate ? { gate: request.gate({ distro, tag, runDir, events }) } : {}),
      });
      const run = { runDir, ...result };
      finished.push(run);
      onFinished(run);
    }
  } finally {
    await auth?.dispose();
    await proxy?.stop();
    accessLog?.end();
  }
  return finished;
}

/**
 * The package cache points each image's package sources at the configured repositories while it builds, and
 * restores the image's own at its end: a Kolla checkout's templates add repositories themselves (repos.yaml,
 * handle_repos) that children rely on, so with a Kolla tree it is on only when asked for.
 */
export function packageCacheByDefault(loaded: LoadedConfig): boolean {
  return loaded.config.proxy.package_cache ?? loaded.kolla === undefined;
}
