import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseImage } from '../../src/bootstrap/base-image.js';
import { INPUT_DIGEST_LABEL, type Plan, type PlannedImage } from '../../src/plan/plan.js';
import { EventBus, type Reporter, type RunEvent } from '../../src/report/events.js';
import { SummaryCollector, type RunSummary } from '../../src/report/summary.js';
import { executeBuildRun, type BuildRunOptions } from '../../src/run/build-run.js';
import type { ImageGate } from '../../src/run/gate-port.js';
import type { ImageStepContext } from '../../src/run/image-step-context.js';
import { SharedMounts } from '../../src/run/shared-mounts.js';
import type { PackageRecorder } from '../../src/respin/package-recorder.js';
import type { RunSettings } from '../../src/run/settings.js';
import { FakeEngine, type FakeEngineScript } from './fake-engine.js';
import { temporaryDir } from './files.js';

/**
 * One harness for tests of a build run: a bootstrapped base image, planned images with input digests,
 * a plan of them, settings, and executeBuildRun with a summary collector and every event kept.
 */
export const TEST_BASE: Extract<BaseImage, { kind: 'bootstrap' }> = {
  kind: 'bootstrap',
  distro: 'debian',
  suite: 'bookworm',
  source: {
    bootstrap: 'mmdebstrap',
    variant: 'minbase',
    include: [],
    sources: ['deb http://deb.debian.org/debian bookworm main'],
  },
  digest: 'sha256:0123456789abcdef',
  repository: 'localhost/ci-builder/bootstrap-debian',
  tag: 'bookworm-0123456789ab',
  reference: 'localhost/ci-builder/bootstrap-debian:bookworm-0123456789ab',
};

/** The reference of an image named `name` in the tests' registry, at the run tag t1. */
export type ReferenceOf = (name: string) => string;
export const testReference: ReferenceOf = (name) => `registry.test/ns/${name}:t1`;

/**
 * A planned image FROM its parent (or the base image), whose input digest is `sha256:<name>-digest` and
 * recipe digest `sha256:<name>-recipe`, built against snapshot set `debian=1`.
 */
export function plannedImage(
  name: string,
  parent: string | null,
  reference: ReferenceOf = testReference,
): PlannedImage {
  const inputDigest = `sha256:${name}-digest`;
  return {
    name,
    parent,
    reference: reference(name),
    dockerfile: `FROM ${parent === null ? TEST_BASE.reference : reference(parent)}\nRUN echo ${name}\n`,
    contextFiles: [],
    emptyDirs: [],
    inputDigest,
    recipeDigest: `sha256:${name}-recipe`,
    snapshotSet: 'debian=1',
    labels: { [INPUT_DIGEST_LABEL]: inputDigest },
    fromBaseImage: parent === null,
  };
}

/** base → openstack-base → keystone, base → cron, and memcached alone on the base image. */
export function testTree(reference: ReferenceOf = testReference): PlannedImage[] {
  return [
    plannedImage('base', null, reference),
    plannedImage('memcached', null, reference),
    plannedImage('cron', 'base', reference),
    plannedImage('openstack-base', 'base', reference),
    plannedImage('keystone', 'openstack-base', reference),
  ];
}

export function planOf(images: PlannedImage[], skippedParents: PlannedImage[] = []): Plan {
  return {
    distro: 'debian',
    distroVersion: 'bookworm',
    tag: 't1',
    engine: 'buildah',
    baseImage: TEST_BASE,
    bootstrapMirrorLines: ['deb http://127.0.0.1:9/debian bookworm main'],
    repositoriesInjected: false,
    selection: {
      selected: images.map((entry) => entry.name),
      skippedParents: skippedParents.map((entry) => entry.name),
      notMatched: [],
      unbuildable: [],
      unmatchedRegexes: [],
    },
    images,
    skippedParents,
  };
}

/** A fake engine that already holds the base image, as after a first run. */
export function engineWithBase(script: FakeEngineScript = {}): FakeEngine {
  const engine = new FakeEngine(script);
  engine.images.set(TEST_BASE.reference, { id: 'sha256:base-image', labels: {}, user: '' });
  return engine;
}

/** A run's settings on one engine: two threads, no retries, nothing pushed, no cache or proxy. */
export function testSettings(engine: RunSettings['engine'], overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    engine,
    threads: 2,
    retries: 0,
    push: false,
    pushThreads: 2,
    pushAttempts: 1,
    authProxy: false,
    packageCache: false,
    skipExisting: false,
    noCache: false,
    skipParents: false,
    respin: { mode: 'patch', maxPatchLayers: 3, compose: 'store', refresh: false },
    ...overrides,
  };
}

/** What one image's step sees of a run on this engine, in a run folder of its own: an image step tried alone. */
export function stepContext(engine: FakeEngine, recorder?: PackageRecorder): ImageStepContext {
  const runDir = temporaryDir('ci-builder-run-');
  return {
    engine,
    events: new EventBus(),
    settings: testSettings(engine),
    runDir,
    contextRoot: join(runDir, 'contexts'),
    parentMounts: new SharedMounts(),
    ...(recorder ? { packageRecorder: recorder } : {}),
  };
}

export interface HarnessRun {
  exitCode: number;
  /** The summary.json the run wrote. */
  summary: RunSummary;
  events: RunEvent[];
  runDir: string;
}

export type HarnessOptions = Partial<Omit<BuildRunOptions, 'plan' | 'settings' | 'events' | 'summary'>> & {
  /** Further reporters of the run's events (a GitHub reporter, say). */
  reporters?: Reporter[];
  /** A collector of the test's own, when it must not see the events. */
  summary?: SummaryCollector;
  /** The run's gate, made with the run's own events (as the pipeline's scan gate is). */
  gateFor?: (events: EventBus, runDir: string) => ImageGate;
};

/** executeBuildRun of a plan with these settings; the run folder is a new temporary one unless given. */
export async function runPlan(plan: Plan, settings: RunSettings, options: HarnessOptions = {}): Promise<HarnessRun> {
  const { reporters = [], summary: ownCollector, gateFor, ...rest } = options;
  const runDir = rest.runDir ?? temporaryDir('ci-builder-run-');
  const events = new EventBus();
  const seen: RunEvent[] = [];
  const summary = ownCollector ?? new SummaryCollector();
  if (ownCollector === undefined) events.attach(summary);
  events.attach({ handle: (event) => void seen.push(event) });
  for (const reporter of reporters) events.attach(reporter);
  const result = await executeBuildRun({
    plan,
    settings,
    cacheDir: join(runDir, 'cache'),
    signal: new AbortController().signal,
    ...rest,
    ...(gateFor ? { gate: gateFor(events, runDir) } : {}),
    runDir,
    events,
    summary,
  });
  const written = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  return { exitCode: result.exitCode, summary: written, events: seen, runDir };
}
