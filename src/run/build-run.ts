import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseImage } from '../bootstrap/ensure.js';
import type { Engine } from '../engine/types.js';
import { INPUT_DIGEST_LABEL, type Plan, type PlannedImage } from '../plan/plan.js';
import { writeBuildContext } from '../render/context.js';
import type { EventBus } from '../report/events.js';
import type { RunSummary, SummaryCollector } from '../report/summary.js';
import { runDag, type DagNode } from '../schedule/dag.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { fail, ok, type Result } from '../util/result.js';
import { Limiter } from '../util/limiter.js';
import { addVersionLabel } from './version-label.js';

export interface PushSettings {
  threads: number;
  attempts: number;
  /** First wait between attempts; doubled each time. */
  backoffMs: number;
  insecure: boolean;
  authFile?: string;
}

export interface BuildRunOptions {
  plan: Plan;
  engine: Engine;
  runDir: string;
  cacheDir: string;
  threads: number;
  retries: number;
  /** Leave images that already exist in the engine at their reference alone (not built, not pushed). */
  skipExisting?: boolean;
  push?: PushSettings;
  events: EventBus;
  summary: SummaryCollector;
  signal: AbortSignal;
}

export interface BuildRunResult {
  summary: RunSummary;
  exitCode: 0 | 1 | 130;
}

/** DAG id of the base image step; `:` cannot start an image name. */
const BASE_NODE = ':base-image';

/** One run: base image, then every planned image in dependency order, each pushed as soon as it exists. */
export async function executeBuildRun(options: BuildRunOptions): Promise<BuildRunResult> {
  const { plan, engine, events, signal } = options;
  await mkdir(join(options.runDir, 'logs'), { recursive: true });
  const contextRoot = await mkdtemp(join(tmpdir(), 'ci-builder-context-'));
  const containersBefore = new Set(await engine.listContainers());
  const pushes = new Limiter(options.push?.threads ?? 1);
  const images = new Map([...plan.skippedParents, ...plan.images].map((image) => [image.name, image]));
  const skippedParents = new Set(plan.skippedParents.map((image) => image.name));

  events.emit({ type: 'run', reason: 'started', tag: plan.tag, distro: plan.distro, engine: engine.name, runDir: options.runDir, images: plan.images.map((image) => image.name) });
  for (const name of plan.selection.notMatched) events.emit({ type: 'image', reason: 'not-matched', name });
  for (const name of plan.selection.unbuildable) events.emit({ type: 'image', reason: 'unbuildable', name });
  for (const regex of plan.selection.unmatchedRegexes) events.emit({ type: 'warning', message: `regex ${JSON.stringify(regex)} matches no image` });
  for (const image of images.values()) events.emit({ type: 'image', reason: 'queued', name: image.name, reference: image.reference, inputDigest: image.inputDigest, parent: image.parent });

  // The base image is prepared only when a root image of this run is built FROM it.
  const usesBase = (image: PlannedImage) => image.dockerfile.includes(plan.baseImage.reference);
  const nodes: DagNode[] = [];
  for (const image of images.values()) {
    const dependsOn = image.parent !== null && images.has(image.parent) ? [image.parent] : usesBase(image) ? [BASE_NODE] : [];
    nodes.push({ id: image.name, dependsOn });
  }
  if (nodes.some((node) => node.dependsOn.includes(BASE_NODE))) nodes.push({ id: BASE_NODE, dependsOn: [] });

  const runNode = async (id: string, attempt: number, nodeSignal: AbortSignal): Promise<Result<void, { reason: string; retryable: boolean }>> => {
    if (id === BASE_NODE) return prepareBase(options, nodeSignal);
    const image = images.get(id);
    if (image === undefined) return fail({ reason: `unknown image ${id}`, retryable: false });
    if (skippedParents.has(id)) return reuseSkippedParent(options, image);
    if (image.failure !== undefined) return fail({ reason: image.failure, retryable: false });
    if (options.skipExisting && (await engine.exists(image.reference))) {
      events.emit({ type: 'image', reason: 'skipped', name: image.name, because: `${image.reference} exists (--skip-existing)` });
      return ok(undefined);
    }
    const built = await buildOrReuse(options, image, contextRoot, attempt, nodeSignal);
    if (!built.ok) return fail({ reason: built.failure, retryable: !nodeSignal.aborted });
    if (options.push) void pushes.add(() => pushImage(options, image, options.push as PushSettings));
    return ok(undefined);
  };

  try {
    await runDag({
      nodes,
      concurrency: options.threads,
      retries: options.retries,
      signal,
      run: runNode,
      onEvent: (event) => {
        if (event.id === BASE_NODE) return;
        if (event.type === 'retrying') events.emit({ type: 'image', reason: 'retrying', name: event.id, attempt: event.attempt, message: event.reason });
        if (event.type !== 'finished') return;
        const { outcome } = event;
        if (outcome.state === 'failed') events.emit({ type: 'image', reason: 'failed', name: event.id, message: outcome.reason, attempts: outcome.attempts });
        if (outcome.state === 'skipped') events.emit({ type: 'image', reason: 'skipped', name: event.id, because: outcome.because === BASE_NODE ? `base image ${plan.baseImage.reference} failed` : `parent ${outcome.because} failed` });
        if (outcome.state === 'cancelled') events.emit({ type: 'image', reason: 'skipped', name: event.id, because: 'interrupted' });
      },
    });
    await pushes.drain();
  } finally {
    await rm(contextRoot, { recursive: true, force: true });
    if (signal.aborted) {
      const leftovers = (await engine.listContainers().catch(() => [])).filter((id) => !containersBefore.has(id));
      await engine.removeContainers(leftovers).catch(() => undefined);
    }
    events.emit({ type: 'run', reason: 'finished', interrupted: signal.aborted });
    await events.close();
  }

  const summary = options.summary.summary;
  await writeFileAtomic(join(options.runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (summary.push_failed.length > 0 || options.push) {
    await writeFileAtomic(join(options.runDir, 'push-failed.txt'), summary.push_failed.map((entry) => `${entry.reference}\n`).join(''));
  }
  const exitCode = signal.aborted ? 130 : summary.failed.length > 0 || summary.push_failed.length > 0 ? 1 : 0;
  return { summary, exitCode };
}

async function prepareBase(options: BuildRunOptions, signal: AbortSignal): Promise<Result<void, { reason: string; retryable: boolean }>> {
  const { plan, events } = options;
  const reference = plan.baseImage.reference;
  const started = Date.now();
  events.emit({ type: 'base-image', reason: 'started', reference });
  const result = await ensureBaseImage(plan.baseImage, {
    engine: options.engine,
    mirrorLines: plan.bootstrapMirrorLines,
    cacheDir: options.cacheDir,
    signal,
    onLine: logTo(events, 'base-image'),
  });
  if (!result.ok) {
    events.emit({ type: 'base-image', reason: 'failed', reference, message: result.failure });
    return fail({ reason: result.failure, retryable: true });
  }
  events.emit({ type: 'base-image', reason: result.value, reference, seconds: (Date.now() - started) / 1000 });
  return ok(undefined);
}

/** An image whose input digest was built before is tagged, not built again. */
async function buildOrReuse(options: BuildRunOptions, image: PlannedImage, contextRoot: string, attempt: number, signal: AbortSignal): Promise<Result<void, string>> {
  const { engine, events } = options;
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const existing = await engine.findByLabel(INPUT_DIGEST_LABEL, image.inputDigest);
  if (existing !== undefined) {
    await engine.tag(existing, image.reference);
    events.emit({ type: 'image', reason: 'reused', name: image.name, imageId: existing, seconds: seconds() });
    return ok(undefined);
  }
  // Only a real build is "started": reused images go straight from queued to reused.
  events.emit({ type: 'image', reason: 'started', name: image.name, attempt });
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
  });
  if (!built.ok) return fail(built.failure.message);
  const labelled = await addVersionLabel(engine, image.reference, built.value, signal, logTo(events, image.name));
  if (!labelled.ok) return fail(labelled.failure);
  events.emit({ type: 'image', reason: 'built', name: image.name, imageId: labelled.value.id, seconds: seconds() });
  return ok(undefined);
}

/** With --skip-parents a parent is not built, but its children's FROM needs it at this run's tag. */
async function reuseSkippedParent(options: BuildRunOptions, image: PlannedImage): Promise<Result<void, { reason: string; retryable: boolean }>> {
  const existing = await options.engine.findByLabel(INPUT_DIGEST_LABEL, image.inputDigest);
  if (existing === undefined) {
    return fail({ reason: `not built (--skip-parents) and no image with its input digest exists; build it without --skip-parents first`, retryable: false });
  }
  await options.engine.tag(existing, image.reference);
  options.events.emit({ type: 'image', reason: 'skipped', name: image.name, because: '--skip-parents (existing image tagged for its children)' });
  return ok(undefined);
}

async function pushImage(options: BuildRunOptions, image: PlannedImage, settings: PushSettings): Promise<void> {
  const { events, signal } = options;
  const started = Date.now();
  let lastError = '';
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    if (signal.aborted) break;
    if (attempt > 1) {
      events.emit({ type: 'push', reason: 'retrying', name: image.name, attempt, message: lastError });
      await sleep(settings.backoffMs * 2 ** (attempt - 2), signal);
    }
    events.emit({ type: 'push', reason: 'started', name: image.name, reference: image.reference, attempt });
    const result = await options.engine.push({
      reference: image.reference,
      insecure: settings.insecure,
      signal,
      onLine: logTo(events, image.name),
      ...(settings.authFile ? { authFile: settings.authFile } : {}),
    });
    if (result.ok) {
      events.emit({ type: 'push', reason: 'pushed', name: image.name, reference: image.reference, seconds: (Date.now() - started) / 1000, attempts: attempt });
      return;
    }
    lastError = result.failure.message;
  }
  events.emit({ type: 'push', reason: 'failed', name: image.name, reference: image.reference, message: signal.aborted ? 'interrupted' : lastError, attempts: settings.attempts });
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
