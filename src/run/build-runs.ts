import { join, resolve } from 'node:path';
import type { Catalog } from '../catalog/types.js';
import type { LoadedConfig } from '../config/load.js';
import { makePlan } from '../plan/make-plan.js';
import { runTag } from '../plan/naming.js';
import type { Plan } from '../plan/plan.js';
import { EventBus, type Reporter } from '../report/events.js';
import { HtmlReportReporter } from '../report/html-report.js';
import { LogFilesReporter } from '../report/log-files.js';
import { SummaryCollector, type RunSummary } from '../report/summary.js';
import { restrictPlanToShard } from '../shard/restrict-plan.js';
import { shardLabel } from '../shard/shard-plan-file.js';
import type { ShardRequest } from '../shard/shard-request.js';
import { cacheDir } from '../util/cache-dir.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import { withRunScratch } from '../util/run-scratch.js';
import { executeBuildRun } from './build-run.js';
import type { ImageGate } from './gate-port.js';
import type { ShardRun } from './parent-from-shard.js';
import { recordedImages } from './recorded-images.js';
import { openRunServices, type RunServices } from './services.js';
import type { RunSettings } from './settings.js';

/** Time between two looks at the registry for a parent another shard builds. */
const SHARD_POLL_MS = 5000;

/** What every run of one command shares: the trees, the settings, how progress is shown. */
export interface RunScope {
  loaded: LoadedConfig;
  catalog: Catalog;
  settings: RunSettings;
  /** Build one shard of the selection only; other shards' parents are taken from the registry. */
  shard?: ShardRequest;
  /** The progress reporter of each run (live view, plain lines or JSON). */
  progress: () => Reporter;
  signal: AbortSignal;
}

export interface BuildRunsRequest extends RunScope {
  distros: readonly string[];
  /** Regexes choosing images (their parents come along); null: every image. */
  regexes: readonly string[] | null;
  /** One tag for every run; default `<release>-<distro>-<version>-<timestamp>` per distro. */
  tag?: string;
  runDir?: string;
}

/** One run of a scope: a distro's images under one tag, into one run folder. */
export interface OneRun {
  distro: string;
  regexes: readonly string[] | null;
  tag: string;
  runDir: string;
  /** The gate of this run's images (the pipeline scans there), given the run's own events. */
  gate?: (events: EventBus) => ImageGate;
}

export interface FinishedRun {
  runDir: string;
  summary: RunSummary;
  exitCode: 0 | 1 | 130;
}

/**
 * Runs `work` with the run's services open (registry credential file, proxy and package cache, secret
 * scrubber) and a scratch TMPDIR of its own; both are gone when it ends, whatever happened.
 */
export function withRunServices<T>(scope: RunScope, work: (services: RunServices) => Promise<T>): Promise<T> {
  return withRunScratch(async () => {
    const services = await openRunServices(scope.loaded, scope.settings);
    try {
      return await work(services);
    } finally {
      await services.dispose();
    }
  });
}

/** One run per distro, sharing the timestamp and the run's services; each run gets its folder. */
export function runBuilds(request: BuildRunsRequest, onFinished: (run: FinishedRun) => void): Promise<FinishedRun[]> {
  const { config } = request.loaded;
  const startedAt = new Date();
  return withRunServices(request, async (services) => {
    const finished: FinishedRun[] = [];
    for (const distro of request.distros) {
      if (request.signal.aborted) break;
      const tag = request.tag ?? runTag(config.release, distro, config.distros[distro]?.version ?? '', startedAt);
      const runDir = resolve(request.runDir ?? join(RUNS_DIR, tag));
      const run = await runOne(request, services, { distro, regexes: request.regexes, tag, runDir });
      finished.push(run);
      onFinished(run);
    }
    return finished;
  });
}

/** Plan, reporters and the build run of one distro's images under one tag. */
export async function runOne(scope: RunScope, services: RunServices, one: OneRun): Promise<FinishedRun> {
  const plan = await planRun(scope, services, one);
  const { shard } = scope;
  const sharded = shard ? restrictPlanToShard(plan, shard.choice, shard.owners, shard.source) : undefined;
  const packageCache = await services.beginRun(one.runDir);
  const events = new EventBus(services.scrub);
  const summary = new SummaryCollector(plan.selection.unmatchedRegexes);
  if (shard) summary.summary.shard = shardLabel(shard.choice);
  const reporters = [summary, new LogFilesReporter(one.runDir), new HtmlReportReporter(one.runDir, summary)];
  for (const reporter of [...reporters, scope.progress()]) events.attach(reporter);
  // Earlier runs' images by input digest, read after the previous run wrote its summary.
  const recorded = scope.settings.noCache ? undefined : await recordedImages(resolve(RUNS_DIR));
  const shardRun: ShardRun | undefined =
    shard && sharded
      ? {
          label: shardLabel(shard.choice),
          fromOtherShards: sharded.fromOtherShards,
          waitMs: shard.waitMs,
          pollMs: SHARD_POLL_MS,
        }
      : undefined;
  const result = await executeBuildRun({
    plan: sharded?.plan ?? plan,
    settings: scope.settings,
    runDir: one.runDir,
    cacheDir: join(cacheDir(), 'bootstrap'),
    events,
    summary,
    signal: scope.signal,
    ...(services.push ? { push: services.push } : {}),
    ...(shardRun ? { shard: shardRun } : {}),
    ...(recorded ? { recordedImages: recorded } : {}),
    ...(packageCache ? { packageCache } : {}),
    ...(one.gate ? { gate: one.gate(events) } : {}),
  });
  return { runDir: one.runDir, ...result };
}

function planRun(scope: RunScope, services: RunServices, one: OneRun): Promise<Plan> {
  const repositoryAccess = services.repositoryAccess(one.distro);
  return makePlan({
    config: scope.loaded.config,
    catalog: scope.catalog,
    distro: one.distro,
    tag: one.tag,
    engine: scope.settings.engine.name,
    selection: { regexes: one.regexes, skipParents: scope.settings.skipParents },
    renderInputs: scope.loaded.renderInputs,
    cacheDir: cacheDir(),
    fetchSources: true,
    signal: scope.signal,
    ...(repositoryAccess ? { repositoryAccess } : {}),
  });
}
