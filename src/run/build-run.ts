import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseImage } from '../bootstrap/ensure.js';
import { guardEngine } from '../engine/guarded.js';
import type { Engine, EngineFailure } from '../engine/types.js';
import { INPUT_DIGEST_LABEL, type Plan, type PlannedImage } from '../plan/plan.js';
import { writeBuildContext } from '../render/context.js';
import type { BuildFailureStatus, EventBus, FailureStatus, PushFailureStatus } from '../report/events.js';
import { BASE_IMAGE_LOG } from '../report/log-files.js';
import type { PackageCacheCounters } from '../proxy/counters.js';
import type { RunSummary, SummaryCollector } from '../report/summary.js';
import { INTERNAL_FAILURE, runDag, type NodeFailure, type NodeOutcome } from '../schedule/dag.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { Limiter } from '../util/limiter.js';
import { fail, ok, type Result } from '../util/result.js';
import { buildFailureStatus, pushFailureStatus, runGraph, type RunNode } from './run-graph.js';
import { alreadyPushed } from './already-pushed.js';
import type { Builder } from './builder-pool.js';
import { ancestorRepositories } from './mount-sources.js';
import { builderPool, onSomeBuilder, prepareOnBuilder, spreadRun } from './on-builders.js';
import { takeParentFromShard, type ShardRun } from './parent-from-shard.js';
import type { RegistryLogin } from './registry-auth.js';
import { addVersionLabel } from './version-label.js';

export interface PushSettings {
  threads: number;
  attempts: number;
  /** First wait between attempts; doubled each time. */
  backoffMs: number;
  insecure: boolean;
  /** The engines' auth file for the registry. */
  authFile?: string;
  /** The same login, for asking the registry before a push. */
  login?: RegistryLogin;
  /** How long a builder waits for a parent built elsewhere to appear in the registry. */
  handOffTimeoutMs?: number;
}

/** Whether an image that now exists may go to the registry (a scan, in the pipeline). */
export interface GateDecision {
  push: boolean;
}

/**
 * Called once per image after it was built or reused, before its push is queued, with the engine that
 * holds the image. It runs beside the build of other images (children do not wait for it, except on a
 * run over several builders, where the registry hands images over); a held image is simply not pushed.
 */
export type ImageGate = (image: PlannedImage, signal: AbortSignal, engine: Engine) => Promise<GateDecision>;

export interface BuildRunOptions {
  plan: Plan;
  engine: Engine;
  /** More than one: the run is spread over these builders, handing images over through the registry (push). */
  builders?: readonly Builder[];
  runDir: string;
  cacheDir: string;
  threads: number;
  retries: number;
  /** Leave images that already exist in the engine at their reference alone (not built, not pushed). */
  skipExisting?: boolean;
  /** Build every image again from its first step: no reuse by input digest, none of the engine's layer cache. */
  noCache?: boolean;
  push?: PushSettings;
  gate?: ImageGate;
  /** A shard of a run split over CI jobs: only its images are built, other shards' parents are pulled. */
  shard?: ShardRun;
  events: EventBus;
  summary: SummaryCollector;
  signal: AbortSignal;
  /** The run's package cache counters, read when the summary is written. */
  packageCache?: () => PackageCacheCounters;
  /**
   * Images earlier runs recorded, by input digest (recordedImages): asked for first, since inspecting one
   * image is far quicker than the engine's search by label, which reads every image it holds.
   */
  recordedImages?: ReadonlyMap<string, string>;
}

export type RunExitCode = 0 | 1 | 130;

export interface BuildRunResult {
  summary: RunSummary;
  exitCode: RunExitCode;
}

type StepFailure = NodeFailure<BuildFailureStatus>;
type StepResult = Result<void, StepFailure>;

export interface PushOutcome {
  name: string;
  reference: string;
  result: Result<void, { status: PushFailureStatus; message: string }>;
  /** The builder holding the image was lost during the push: the image is built and pushed again elsewhere. */
  builderLost?: true;
}

/** The run's options as one builder's work sees them. */
type OnBuilder = BuildRunOptions & { builderName?: string };

/** One run: base image, then every planned image in dependency order, each pushed as soon as it exists. */
export async function executeBuildRun(options: BuildRunOptions): Promise<BuildRunResult> {
  const { plan, events, signal } = options;
  const engine = guardEngine(options.engine);
  const run: OnBuilder = { ...options, engine };
  const pool = builderPool(options.builders ?? [], events);
  const engines = pool ? pool.builders.map((builder) => builder.engine) : [engine];
  await mkdir(join(options.runDir, 'logs'), { recursive: true });
  const contextRoot = await mkdtemp(join(tmpdir(), 'ci-builder-context-'));
  // Without the list of containers that were there before, an interrupt removes none: never someone else's.
  const containersBefore = await Promise.all(engines.map((each) => each.listContainers()));
  const pushes = new Limiter(options.push?.threads ?? 1);
  const pushing: Array<Promise<PushOutcome>> = [];
  const gating: Array<Promise<void>> = [];
  const pushed = new Map<string, Promise<boolean>>();
  const queuePush = (image: PlannedImage, on: OnBuilder, builder?: Builder): Promise<PushOutcome | undefined> => {
    const push = options.push;
    if (!push) return Promise.resolve(undefined);
    const stillThere = builder && pool ? () => pool.lostAfter(builder, 'push failed').then((lost) => !lost) : undefined;
    const outcome = pushes.add(() => pushImage(on, image, push, stillThere));
    pushing.push(outcome);
    return outcome;
  };
  /** Gate, then push; resolves once the image is in the registry or known not to get there. */
  const admit = (image: PlannedImage, on: OnBuilder, builder?: Builder): Promise<PushOutcome | undefined> => {
    const gate = options.gate;
    if (gate === undefined) return queuePush(image, on, builder);
    const decided = gate(image, signal, on.engine).then((decision) =>
      decision.push ? queuePush(image, on, builder) : undefined,
    );
    gating.push(decided.then(() => undefined));
    return decided;
  };
  const nodes = runGraph(plan, options.shard?.fromOtherShards);
  const attempts = new Map<string, number>();

  const images = plan.images.map((image) => image.name);
  const { tag, distro } = plan;
  const builderNames = pool ? { builders: pool.builders.map((builder) => builder.name) } : {};
  const started = { tag, distro, engine: engine.name, runDir: options.runDir, images, ...builderNames };
  events.emit({ type: 'run', reason: 'started', ...started });
  for (const listed of containersBefore) {
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
    const { name, reference, inputDigest, parent } = node.image;
    events.emit({ type: 'image', reason: 'queued', name, reference, inputDigest, parent });
  }

  type ImageNode = Extract<RunNode, { kind: 'image' }>;
  const imageWork = async (
    on: OnBuilder,
    node: ImageNode,
    attempt: number,
    nodeSignal: AbortSignal,
    builder?: Builder,
  ): Promise<StepResult> => {
    if (node.work === 'from-shard') {
      // Another shard built it: it is in the registry once taken, for children on any builder.
      const taken = await takeFromShard(on, node, nodeSignal);
      if (taken.ok) pushed.set(node.image.name, Promise.resolve(true));
      return taken;
    }
    const built =
      node.work === 'tag-existing'
        ? await reuseSkippedParent(on, node.image)
        : await buildImage(on, { image: node.image, contextRoot, attempt, signal: nodeSignal });
    if (!built.ok) return built;
    if (built.value !== 'ready') return ok(undefined);
    const admitted = admit(node.image, on, builder);
    pushed.set(
      node.image.name,
      admitted.then((outcome) => outcome?.result.ok === true),
    );
    if (builder === undefined) return ok(undefined);
    // Spread over builders, the registry hands the image to its children elsewhere: done once it is there.
    const outcome = await admitted;
    if (outcome?.builderLost) {
      return fail({ kind: 'connection_error', reason: `push from ${builder.name} cut short`, retryable: true });
    }
    return ok(undefined);
  };
  const spread = pool && {
    ...spreadRun(pool, plan, events, options.push ?? { insecure: false }),
    pushed,
    prepareBase: (builder: Builder, nodeSignal: AbortSignal) =>
      prepareBase({ ...run, engine: builder.engine }, nodeSignal, builder.name),
  };

  const runNode = async (node: RunNode, attempt: number, nodeSignal: AbortSignal): Promise<StepResult> => {
    switch (node.kind) {
      case 'base-image':
        if (spread === undefined) return prepareBase(run, nodeSignal);
        return onSomeBuilder(spread, null, nodeSignal, async (builder) => {
          const made = await prepareBase({ ...run, engine: builder.engine }, nodeSignal);
          if (made.ok) spread.pool.baseImageMade(builder, plan.baseImage.reference);
          return made;
        });
      case 'image': {
        if (spread === undefined) return imageWork(run, node, attempt, nodeSignal);
        const needs = node.dependsOn[0] ?? null;
        return onSomeBuilder(spread, needs, nodeSignal, async (builder) => {
          const ready = await prepareOnBuilder(spread, builder, node.image, needs, nodeSignal);
          if (!ready.ok) return ready;
          const on: OnBuilder = { ...run, engine: builder.engine, builderName: builder.name };
          const done = await imageWork(on, node, attempt, nodeSignal, builder);
          if (done.ok) spread.pool.record(builder, node.id);
          return done;
        });
      }
      default: {
        const never: never = node;
        return never;
      }
    }
  };

  let outcomes: Map<string, NodeOutcome<BuildFailureStatus>>;
  let pushOutcomes: PushOutcome[];
  try {
    outcomes = await runDag({
      nodes,
      concurrency: pool ? pool.totalSlots : options.threads,
      retries: options.retries,
      signal,
      run: runNode,
      onEvent: (event) => {
        switch (event.type) {
          case 'started':
            attempts.set(event.id, event.attempt);
            return;
          case 'retrying':
            return reportRetry(run, event.node, event.attempt, event.reason);
          case 'finished':
            return reportOutcome(run, event.node, event.outcome, attempts.get(event.id) ?? 0);
          default: {
            const never: never = event;
            return never;
          }
        }
      },
    });
    // Every gate decides (and queues its push) before the pushes are awaited.
    await Promise.all(gating);
    await pushes.drain();
    pushOutcomes = await Promise.all(pushing);
  } finally {
    await rm(contextRoot, { recursive: true, force: true });
    if (signal.aborted) {
      for (const [index, each] of engines.entries()) {
        const before = containersBefore[index];
        const now = before?.ok ? await each.listContainers() : undefined;
        if (before?.ok && now?.ok) await each.removeContainers(now.value.filter((id) => !before.value.includes(id)));
      }
    }
    events.emit({ type: 'run', reason: 'finished', interrupted: signal.aborted });
    await events.close();
  }

  const summary = options.summary.summary;
  if (options.packageCache) summary.package_cache = options.packageCache();
  await writeFileAtomic(join(options.runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  // A push cut short by a lost builder was made again from another one: that outcome is the one that counts.
  pushOutcomes = pushOutcomes.filter((outcome) => !outcome.builderLost);
  const pushFailed = pushOutcomes.filter((outcome) => !outcome.result.ok);
  if (options.push) {
    const lines = pushFailed.map((outcome) => `${outcome.reference}\n`).join('');
    await writeFileAtomic(join(options.runDir, 'push-failed.txt'), lines);
  }
  return { summary, exitCode: runExitCode(outcomes, pushOutcomes, signal.aborted) };
}

/** From what the scheduler and the pushes say happened, never from what a reporter made of it. */
export function runExitCode(
  outcomes: ReadonlyMap<string, NodeOutcome>,
  pushes: readonly PushOutcome[],
  interrupted: boolean,
): RunExitCode {
  if (interrupted) return 130;
  const nodeFailed = [...outcomes.values()].some((outcome) => outcome.state !== 'succeeded');
  return nodeFailed || pushes.some((push) => !push.result.ok) ? 1 : 0;
}

function reportRetry(options: BuildRunOptions, node: RunNode, attempt: number, message: string): void {
  switch (node.kind) {
    case 'image':
      options.events.emit({ type: 'image', reason: 'retrying', name: node.id, attempt, message });
      return;
    case 'base-image':
      options.events.emit({ type: 'warning', message: `base image ${node.id}: attempt ${attempt} after: ${message}` });
      return;
    default: {
      const never: never = node;
      return never;
    }
  }
}

/** A node's final outcome, as the events reporters and the summary know. */
function reportOutcome(
  options: BuildRunOptions,
  node: RunNode,
  outcome: NodeOutcome<BuildFailureStatus>,
  attempts: number,
): void {
  const { events, plan } = options;
  let status: FailureStatus;
  let message: string;
  switch (outcome.state) {
    case 'succeeded':
      return;
    case 'failed':
      status = outcome.kind === INTERNAL_FAILURE ? 'error' : outcome.kind;
      message = outcome.reason;
      break;
    case 'skipped':
      // Never started: its parent (or the base image) failed first.
      attempts = 0;
      status = 'parent_error';
      message = `${outcome.because === plan.baseImage.reference ? 'base image' : 'parent'} ${outcome.because} failed`;
      break;
    case 'cancelled':
      status = 'interrupted';
      message = 'interrupted';
      break;
    default: {
      const never: never = outcome;
      return never;
    }
  }
  switch (node.kind) {
    case 'image':
      events.emit({ type: 'image', reason: 'failed', name: node.id, status, message, attempts });
      return;
    case 'base-image':
      // The base image has no parent: it fails by itself or is interrupted, never parent_error.
      if (status === 'parent_error') status = 'error';
      events.emit({ type: 'base-image', reason: 'failed', reference: node.id, status, message });
      return;
    default: {
      const never: never = node;
      return never;
    }
  }
}

function stepFailure(failure: EngineFailure): StepFailure {
  const kind = buildFailureStatus(failure.kind);
  return { kind, reason: failure.message, retryable: kind !== 'interrupted' };
}

/**
 * The base image in the engine. `alsoOn` names a further builder of a spread run making its own copy:
 * its lines go to the base image's log, marked, and it reports no base-image events of its own.
 */
async function prepareBase(options: BuildRunOptions, signal: AbortSignal, alsoOn?: string): Promise<StepResult> {
  const { plan, events } = options;
  const reference = plan.baseImage.reference;
  const started = Date.now();
  const log = logTo(events, BASE_IMAGE_LOG);
  if (alsoOn === undefined) events.emit({ type: 'base-image', reason: 'started', reference });
  else log(`making the base image on ${alsoOn} too`);
  const result = await baseImageOnce(options.cacheDir, () =>
    ensureBaseImage(plan.baseImage, {
      engine: options.engine,
      mirrorLines: plan.bootstrapMirrorLines,
      cacheDir: options.cacheDir,
      signal,
      onLine: alsoOn === undefined ? log : (line) => log(`[${alsoOn}] ${line}`),
    }),
  );
  if (!result.ok) return fail(stepFailure(result.failure));
  const seconds = (Date.now() - started) / 1000;
  if (alsoOn === undefined) events.emit({ type: 'base-image', reason: result.value, reference, seconds });
  else log(`base image ${result.value} on ${alsoOn} (${seconds.toFixed(1)}s)`);
  return ok(undefined);
}

/** Builders making the base image share one cached root filesystem, which ensureBaseImage moves while it builds. */
const baseImageLocks = new Map<string, Limiter>();
function baseImageOnce<T>(cacheDir: string, make: () => Promise<T>): Promise<T> {
  const lock = baseImageLocks.get(cacheDir) ?? new Limiter(1);
  baseImageLocks.set(cacheDir, lock);
  return lock.add(make);
}

/** `ready`: the image is at its reference and goes on to be pushed; `left-alone`: --skip-existing found it there. */
type Built = Result<'ready' | 'left-alone', StepFailure>;

/** One attempt at one image. */
interface BuildStep {
  image: PlannedImage;
  /** The folder build contexts are written under. */
  contextRoot: string;
  attempt: number;
  signal: AbortSignal;
}

async function buildImage(options: OnBuilder, step: BuildStep): Promise<Built> {
  const { engine, events } = options;
  const { image } = step;
  if (image.failure !== undefined) return fail({ kind: 'error', reason: image.failure, retryable: false });
  if (options.skipExisting) {
    const exists = await engine.exists(image.reference);
    if (!exists.ok) return fail(stepFailure(exists.failure));
    if (exists.value) {
      const because = `${image.reference} exists (--skip-existing)`;
      events.emit({ type: 'image', reason: 'skipped', name: image.name, because });
      return ok('left-alone');
    }
  }
  const built = await buildOrReuse(options, step);
  return built.ok ? ok('ready') : fail(stepFailure(built.failure));
}

/** An image whose input digest was built before is tagged, not built again. */
async function buildOrReuse(options: OnBuilder, step: BuildStep): Promise<Result<void, EngineFailure>> {
  const { engine, events } = options;
  const on = options.builderName === undefined ? {} : { builder: options.builderName };
  const { image, contextRoot, attempt, signal } = step;
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const existing = options.noCache ? ok(undefined) : await findBuilt(options, image.inputDigest);
  if (!existing.ok) return existing;
  if (existing.value !== undefined) {
    const tagged = await engine.tag(existing.value, image.reference);
    if (!tagged.ok) return tagged;
    events.emit({
      type: 'image',
      reason: 'reused',
      name: image.name,
      imageId: existing.value,
      seconds: seconds(),
      ...on,
    });
    return ok(undefined);
  }
  // Only a real build is "started": reused images go straight from queued to reused.
  events.emit({ type: 'image', reason: 'started', name: image.name, attempt, ...on });
  const contextDir = join(contextRoot, image.name);
  await rm(contextDir, { recursive: true, force: true });
  await writeBuildContext(contextDir, image.dockerfile, image.contextFiles, image.emptyDirs);
  await writeFileAtomic(join(options.runDir, 'dockerfiles', image.name, 'Dockerfile'), image.dockerfile);
  const built = await engine.build({
    contextDir,
    reference: image.reference,
    labels: image.labels,
    signal,
    onLine: logTo(events, image.name),
    ...(options.noCache ? { noCache: true } : {}),
  });
  if (!built.ok) return built;
  const labelled = await addVersionLabel(engine, image.reference, built.value, signal, logTo(events, image.name));
  if (!labelled.ok) return labelled;
  const imageId = labelled.value.id;
  events.emit({ type: 'image', reason: 'built', name: image.name, imageId, seconds: seconds(), ...on });
  return ok(undefined);
}

/**
 * The engine's image with this input digest, if it holds one: the image an earlier run recorded when the
 * engine still has it with that digest's label, else whatever the engine's search by label finds.
 */
async function findBuilt(options: OnBuilder, inputDigest: string): Promise<Result<string | undefined, EngineFailure>> {
  const recorded = options.recordedImages?.get(inputDigest);
  if (recorded !== undefined) {
    const info = await options.engine.inspect(recorded);
    if (info.ok && info.value.labels[INPUT_DIGEST_LABEL] === inputDigest) return ok(info.value.id);
  }
  return options.engine.findByLabel(INPUT_DIGEST_LABEL, inputDigest);
}

/** Neither built nor pushed here: a missing parent stays missing, so its failure is not retried. */
async function takeFromShard(
  options: BuildRunOptions,
  parent: { image: PlannedImage; builtBy: string },
  signal: AbortSignal,
): Promise<StepResult> {
  const { shard, push } = options;
  if (shard === undefined || push === undefined) throw new Error('internal: a shard run without its registry');
  const { waitMs, pollMs } = shard;
  const taken = await takeParentFromShard(options, parent, { access: push, waitMs, pollMs, signal });
  if (taken.ok) return ok(undefined);
  const failure = stepFailure(taken.failure);
  return fail(taken.failure.kind === 'not-found' ? { ...failure, retryable: false } : failure);
}

/** With --skip-parents a parent is not built, but its children's FROM needs it at this run's tag. */
async function reuseSkippedParent(options: BuildRunOptions, image: PlannedImage): Promise<Built> {
  const existing = await findBuilt(options, image.inputDigest);
  if (!existing.ok) return fail(stepFailure(existing.failure));
  if (existing.value === undefined) {
    const reason =
      'not built (--skip-parents) and no image with its input digest exists; ' +
      'build it without --skip-parents first';
    return fail({ kind: 'error', reason, retryable: false });
  }
  const tagged = await options.engine.tag(existing.value, image.reference);
  if (!tagged.ok) return fail(stepFailure(tagged.failure));
  const because = '--skip-parents (existing image tagged for its children)';
  options.events.emit({ type: 'image', reason: 'skipped', name: image.name, because });
  return ok('left-alone');
}

/**
 * Pushes with retries; every way it can end is an event and an outcome, a failure included. On a spread
 * run, a push that cannot reach its builder's engine asks `stillThere`: a lost builder ends it quietly.
 */
async function pushImage(
  options: BuildRunOptions,
  image: PlannedImage,
  settings: PushSettings,
  stillThere?: () => Promise<boolean>,
): Promise<PushOutcome> {
  const { events, signal } = options;
  const { name, reference } = image;
  const started = Date.now();
  let last: EngineFailure = { kind: 'interrupted', message: 'interrupted' };
  let attempts = 0;
  for (let attempt = 1; attempt <= settings.attempts && !signal.aborted; attempt++) {
    if (attempt > 1) {
      events.emit({ type: 'push', reason: 'retrying', name, attempt, message: last.message });
      await sleep(settings.backoffMs * 2 ** (attempt - 2), signal);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can turn true during the sleep
      if (signal.aborted) break;
    }
    attempts = attempt;
    if (await alreadyPushed(options.engine, reference, settings)) {
      const seconds = (Date.now() - started) / 1000;
      events.emit({ type: 'push', reason: 'pushed', name, reference, seconds, attempts: attempt - 1, already: true });
      return { name, reference, result: ok(undefined) };
    }
    events.emit({ type: 'push', reason: 'started', name, reference, attempt });
    const result = await options.engine.push({
      reference,
      insecure: settings.insecure,
      signal,
      onLine: logTo(events, name),
      mountFrom: ancestorRepositories(options.plan, image),
      ...(settings.authFile ? { authFile: settings.authFile } : {}),
      ...(settings.login ? { login: settings.login } : {}),
    });
    if (result.ok) {
      const seconds = (Date.now() - started) / 1000;
      events.emit({ type: 'push', reason: 'pushed', name, reference, seconds, attempts: attempt });
      return { name, reference, result: ok(undefined) };
    }
    last = result.failure;
    if (last.kind === 'connection' && stillThere && !(await stillThere())) {
      return {
        name,
        reference,
        result: fail({ status: 'connection_error', message: last.message }),
        builderLost: true,
      };
    }
  }
  const failure: EngineFailure = signal.aborted ? { kind: 'interrupted', message: 'interrupted' } : last;
  const status = pushFailureStatus(failure.kind);
  events.emit({ type: 'push', reason: 'failed', name, reference, status, message: failure.message, attempts });
  return { name, reference, result: fail({ status, message: failure.message }) };
}

/** Engine output of one image, as log events. */
function logTo(events: EventBus, name: string): (line: string) => void {
  return (line) => events.emit({ type: 'image', reason: 'log', name, line });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
