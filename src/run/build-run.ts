import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { guardEngine } from '../engine/guarded.js';
import { BLOB_UPLOAD } from '../engine/registry-push.js';
import type { Engine } from '../engine/types.js';
import type { Plan } from '../plan/plan.js';
import type { PackageCacheCounters } from '../proxy/counters.js';
import type { BuildFailureStatus, EventBus, ImageWork } from '../report/events.js';
import type { RunSummary, SummaryCollector } from '../report/summary.js';
import { sharedLayerChanges } from '../respin/layer-changes.js';
import { PackageRecorder } from '../respin/package-recorder.js';
import { SharedAptLists } from '../respin/shared-apt-lists.js';
import { runDag, type NodeOutcome } from '../schedule/dag.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { commandOnPath } from '../util/command-on-path.js';
import type { Result } from '../util/result.js';
import { ImageAdmission } from './admission.js';
import type { RegistryComposition } from './registry-composition.js';
import { SharedMounts } from './shared-mounts.js';
import type { BuilderPool } from './builder-pool.js';
import type { ImageGate } from './gate-port.js';
import type { ImageStepContext } from './image-step-context.js';
import { planImageWork, type RunImageWork } from './image-work.js';
import { builderPool } from './on-builders.js';
import type { ShardRun } from './parent-from-shard.js';
import type { PushOutcome, PushSettings } from './push-image.js';
import type { RecordedImages } from './recorded-images.js';
import { reportOutcome, reportRetry, runExitCode, type RunExitCode } from './run-outcomes.js';
import { runGraph, type RunNode } from './run-graph.js';
import { nodeRunner } from './run-node.js';
import type { RunSettings } from './settings.js';

export interface BuildRunOptions {
  plan: Plan;
  settings: RunSettings;
  runDir: string;
  /** Where bootstrapped root filesystems are kept. */
  cacheDir: string;
  push?: PushSettings;
  gate?: ImageGate;
  /** A shard of a run split over CI jobs: only its images are built, other shards' parents are pulled. */
  shard?: ShardRun;
  events: EventBus;
  summary: SummaryCollector;
  signal: AbortSignal;
  /** The run's package cache counters, read when the summary is written. */
  packageCache?: () => PackageCacheCounters;
  /** Images earlier runs recorded, by input digest and by recipe (recordedImages). */
  recordedImages?: RecordedImages;
  /** Where the packages read from earlier images are kept by image id; default `respin` beside cacheDir. */
  respinCacheDir?: string;
}

export interface BuildRunResult {
  summary: RunSummary;
  exitCode: RunExitCode;
}

/** The engines a run touches, with the containers each held before it: an interrupt removes only the run's own. */
interface RunEngines {
  engine: Engine;
  pool: BuilderPool | undefined;
  all: Engine[];
  containersBefore: Array<Result<string[], { message: string }>>;
}

/** One run: base image, then every planned image in dependency order, each pushed as soon as it exists. */
export async function executeBuildRun(options: BuildRunOptions): Promise<BuildRunResult> {
  const { plan, events, signal } = options;
  const engines = await runEngines(options);
  await mkdir(join(options.runDir, 'logs'), { recursive: true });
  const contextRoot = await mkdtemp(join(tmpdir(), 'ci-builder-context-'));
  const recorder = packageRecorder(options, engines);
  const parentMounts = new SharedMounts();
  const admission = new ImageAdmission(options.push, options.gate, engines.pool, options.plan);
  const context: ImageStepContext = {
    engine: engines.engine,
    events,
    settings: options.settings,
    runDir: options.runDir,
    contextRoot,
    parentMounts,
    ...(options.push ? { push: options.push } : {}),
    ...(options.shard ? { shard: options.shard } : {}),
    ...(options.recordedImages ? { recordedImages: options.recordedImages } : {}),
    ...(plan.patching ? { patching: plan.patching, layerChanges: sharedLayerChanges() } : {}),
    ...(recorder ? { packageRecorder: recorder } : {}),
  };

  const base = { plan, engine: engines.engine, events, cacheDir: options.cacheDir };
  const work = await decideWork(options, engines);
  const composition = await registryComposition(options, engines, admission, work);
  if (composition !== undefined) context.composition = composition;
  const nodes = runGraph(plan, options.shard?.fromOtherShards, work);
  announceRun(options, nodes, engines);
  let outcomes: Map<string, NodeOutcome<BuildFailureStatus>>;
  let pushOutcomes: PushOutcome[];
  try {
    const run = nodeRunner({ plan, context, base, admission, runSignal: signal }, engines.pool);
    outcomes = await scheduleNodes(options, nodes, run, engines.pool);
    pushOutcomes = await admission.settle();
  } finally {
    // The mounts first: some are of composed parents' folders, under the composition's scratch folder.
    await parentMounts.releaseAll();
    if (composition !== undefined) await rm(composition.scratchRoot, { recursive: true, force: true });
    await recorder?.settle();
    await rm(contextRoot, { recursive: true, force: true });
    if (signal.aborted) await removeRunContainers(engines);
    events.emit({ type: 'run', reason: 'finished', interrupted: signal.aborted });
    await events.close();
  }
  return finishRun(options, outcomes, pushOutcomes);
}

/**
 * Stacked images composed at the registry (respin.compose registry or auto) where the run allows it: it pushes,
 * its gate (if any) can read a composed image's root before the push, it runs on one engine that can compose.
 * Otherwise every stack goes into the engine's store as usual (with `registry`, after a warning saying why).
 */
async function registryComposition(
  options: BuildRunOptions,
  engines: RunEngines,
  admission: ImageAdmission,
  work: ReadonlyMap<string, RunImageWork> | undefined,
): Promise<RegistryComposition | undefined> {
  const { settings, push, plan } = options;
  const { compose } = settings.respin;
  if (compose === 'store' || settings.respin.mode !== 'patch') return undefined;
  // Asked for by name, a composition the run cannot make is a warning; `auto` stacks in the store quietly.
  const stackInStore = (why: string) => {
    if (compose === 'registry') {
      options.events.emit({ type: 'warning', message: `respin.compose registry: stacking in the store, since ${why}` });
    }
    return undefined;
  };
  if (push === undefined) return stackInStore('the run does not push (--push)');
  const { gate } = options;
  if (gate !== undefined && gate.readsComposedRoots !== true) {
    return stackInStore('its gate cannot read an image composed at the registry (trivy scans exported images only)');
  }
  if (engines.pool !== undefined) return stackInStore('the run is spread over several builders');
  if (engines.engine.composeLastLayer === undefined) return stackInStore(`${engines.engine.name} cannot compose`);
  if (commandOnPath('getfattr') === undefined) return stackInStore('getfattr is not installed (apt-get install attr)');
  const parents = plan.images.flatMap((image) => (image.parent === null ? [] : [image.parent]));
  // A child built on its parent (or one whose work is not known ahead) needs the parent in the store.
  const builtOn = plan.images.flatMap((image) => {
    const childWork = work?.get(image.name);
    return image.parent !== null && (childWork === undefined || childWork.kind === 'build') ? [image.parent] : [];
  });
  const scratchRoot = await mkdtemp(join(tmpdir(), 'ci-builder-compose-'));
  const aptLists = new SharedAptLists(join(scratchRoot, 'apt-lists'));
  await mkdir(aptLists.folder);
  return {
    parents: new Set(parents),
    inStore: new Set(builtOn),
    composed: new Map(),
    held: new Set(),
    pushed: (name) => admission.pushed.get(name),
    access: { insecure: push.insecure, ...(push.login ? { login: push.login } : {}) },
    ...(gate ? { gate } : {}),
    ...(push.authFile ? { authFile: push.authFile } : {}),
    blobs: BLOB_UPLOAD,
    scratchRoot,
    aptLists,
  };
}

async function runEngines(options: BuildRunOptions): Promise<RunEngines> {
  const engine = guardEngine(options.settings.engine);
  const pool = builderPool(options.settings.builders ?? [], options.events);
  const all = pool ? pool.builders.map((builder) => builder.engine) : [engine];
  // Without the list of containers that were there before, an interrupt removes none: never someone else's.
  const containersBefore = await Promise.all(all.map((each) => each.listContainers()));
  return { engine, pool, all, containersBefore };
}

/** The run's first events: started, what the selection left out, every image queued. */
function announceRun(options: BuildRunOptions, nodes: readonly RunNode[], engines: RunEngines): void {
  const { plan, events } = options;
  const images = plan.images.map((image) => image.name);
  const builderNames = engines.pool ? { builders: engines.pool.builders.map((builder) => builder.name) } : {};
  const { tag, distro } = plan;
  const engine = engines.engine.name;
  events.emit({ type: 'run', reason: 'started', tag, distro, engine, runDir: options.runDir, images, ...builderNames });
  for (const listed of engines.containersBefore) {
    if (listed.ok) continue;
    const message = `cannot list the engine's containers (${listed.failure.message}): an interrupt will leave them`;
    events.emit({ type: 'warning', message });
  }
  for (const name of plan.selection.notMatched) events.emit({ type: 'image', reason: 'not-matched', name });
  for (const name of plan.selection.unbuildable) events.emit({ type: 'image', reason: 'unbuildable', name });
  for (const regex of plan.selection.unmatchedRegexes) {
    events.emit({ type: 'warning', message: `regex ${JSON.stringify(regex)} matches no image` });
  }
  for (const node of nodes) {
    if (node.kind !== 'image') continue;
    const { name, reference, inputDigest, parent, recipeDigest, snapshotSet } = node.image;
    events.emit({ type: 'image', reason: 'queued', name, reference, inputDigest, parent, recipeDigest, snapshotSet });
    if (node.work !== 'from-shard' && node.planned)
      events.emit({ type: 'image', reason: 'planned', name, work: plannedView(node.planned) });
  }
}

/** The event's view of a decision: what it is, without what only the patch step needs. */
function plannedView(work: RunImageWork): ImageWork {
  if (work.kind !== 'patch') return work;
  const { kind, imageId, snapshotSet, packages } = work;
  return { kind, imageId, snapshotSet, packages };
}

/**
 * How each image is made, decided before the run builds anything (on a run over one engine: a run over several
 * builders finds earlier images builder by builder as it goes).
 */
async function decideWork(
  options: BuildRunOptions,
  engines: RunEngines,
): Promise<ReadonlyMap<string, RunImageWork> | undefined> {
  if (engines.pool !== undefined) return undefined;
  const { push, events, signal } = options;
  const { engine } = engines;
  // An earlier image composed at the registry is pulled with the run's login, where the run has one (--push).
  const pullRecorded =
    push &&
    (async (reference: string, imageId: string, name: string) => {
      const authFile = push.authFile ? { authFile: push.authFile } : {};
      const line = (text: string) => events.emit({ type: 'image', reason: 'log', name, line: text });
      line(`pulling ${reference}: an earlier run composed it at the registry`);
      const pulled = await engine.pull({ reference, insecure: push.insecure, onLine: line, signal, ...authFile });
      if (!pulled.ok) line(`${reference} not pulled: ${pulled.failure.message}`);
      return pulled.ok && pulled.value.id.replace(/^sha256:/, '') === imageId.replace(/^sha256:/, '');
    });
  const context = {
    engine,
    settings: options.settings,
    respinCacheDir: respinCacheDirOf(options),
    signal,
    ...(options.recordedImages ? { recordedImages: options.recordedImages } : {}),
    ...(pullRecorded ? { pullRecorded } : {}),
  };
  return planImageWork(context, options.plan, options.plan.images);
}

/** Where the packages read from images are kept by image id: beside the bootstrap cache, kept between runs. */
function respinCacheDirOf(options: BuildRunOptions): string {
  return options.respinCacheDir ?? join(dirname(options.cacheDir), 'respin');
}

/**
 * A recorder of each made image's packages, where a later run may patch them: a distro the respin patches, on
 * one engine that mounts images (a run over several builders decides image by image on each, as it goes).
 */
function packageRecorder(options: BuildRunOptions, engines: RunEngines): PackageRecorder | undefined {
  if (options.plan.patching === undefined || engines.pool !== undefined) return undefined;
  if (!PackageRecorder.canRecord(engines.engine)) return undefined;
  return new PackageRecorder(engines.engine, respinCacheDirOf(options), (message) =>
    options.events.emit({ type: 'warning', message: `packages not kept for the next respin: ${message}` }),
  );
}

/** The DAG of the run, each node's retries and final outcome reported as events. */
function scheduleNodes(
  options: BuildRunOptions,
  nodes: RunNode[],
  run: Parameters<typeof runDag<RunNode, BuildFailureStatus>>[0]['run'],
  pool: BuilderPool | undefined,
): Promise<Map<string, NodeOutcome<BuildFailureStatus>>> {
  const { events, plan } = options;
  const attempts = new Map<string, number>();
  return runDag({
    nodes,
    concurrency: pool ? pool.totalSlots : options.settings.threads,
    retries: options.settings.retries,
    signal: options.signal,
    run,
    onEvent: (event) => {
      switch (event.type) {
        case 'started':
          attempts.set(event.id, event.attempt);
          return;
        case 'retrying':
          return reportRetry(events, event.node, event.attempt, event.reason);
        case 'finished':
          return reportOutcome(events, plan, event.node, event.outcome, attempts.get(event.id) ?? 0);
        default: {
          const never: never = event;
          return never;
        }
      }
    },
  });
}

async function removeRunContainers(engines: RunEngines): Promise<void> {
  for (const [index, each] of engines.all.entries()) {
    const before = engines.containersBefore[index];
    const now = before?.ok ? await each.listContainers() : undefined;
    if (before?.ok && now?.ok) await each.removeContainers(now.value.filter((id) => !before.value.includes(id)));
  }
}

/** summary.json and push-failed.txt, and the run's exit code. */
async function finishRun(
  options: BuildRunOptions,
  outcomes: ReadonlyMap<string, NodeOutcome<BuildFailureStatus>>,
  pushOutcomes: PushOutcome[],
): Promise<BuildRunResult> {
  const summary = options.summary.summary;
  if (options.packageCache) summary.package_cache = options.packageCache();
  await writeFileAtomic(join(options.runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  // A push cut short by a lost builder was made again from another one: that outcome is the one that counts.
  const counted = pushOutcomes.filter((outcome) => !outcome.builderLost);
  if (options.push) {
    const lines = counted.filter((outcome) => !outcome.result.ok).map((outcome) => `${outcome.reference}\n`);
    await writeFileAtomic(join(options.runDir, 'push-failed.txt'), lines.join(''));
  }
  return { summary, exitCode: runExitCode(outcomes, counted, options.signal.aborted) };
}
