import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_LABEL, type Plan } from '../../src/plan/plan.js';
import { fromNames } from '../../src/plan/from-lines.js';
import { EventBus } from '../../src/report/events.js';
import { SummaryCollector, type RunSummary } from '../../src/report/summary.js';
import { executeBuildRun } from '../../src/run/build-run.js';
import { runExitCode } from '../../src/run/run-outcomes.js';
import type { RunSettings } from '../../src/run/settings.js';
import { runGraph } from '../../src/run/run-graph.js';
import { Limiter } from '../../src/util/limiter.js';
import { fail, ok } from '../../src/util/result.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { BuildRequest } from '../../src/engine/types.js';
import { VERSION_PACKAGE_LABEL } from '../../src/run/version-label.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import {
  engineWithBase,
  planOf,
  plannedImage,
  runPlan,
  testReference,
  testSettings,
  testTree,
  TEST_BASE,
  type HarnessOptions,
  type HarnessRun,
} from '../helpers/run-harness.js';
import { temporaryDir } from '../helpers/files.js';

const BASE = TEST_BASE;
const reference = testReference;
const image = (name: string, parent: string | null) => plannedImage(name, parent);
const TREE = () => testTree();
const withBase = engineWithBase;

let cacheRoot: string;
let hostCacheBefore: string[] | undefined;
const hostCache = join(homedir(), '.cache', 'ci-builder');
const listing = (dir: string): string[] | undefined =>
  existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : undefined;

type RunOptions = HarnessOptions & Partial<Pick<RunSettings, 'retries' | 'threads' | 'noCache'>>;

async function run(
  plan: Plan,
  engine: FakeEngine,
  options: RunOptions = {},
): Promise<HarnessRun & { engine: FakeEngine }> {
  const { retries, threads, noCache, ...rest } = options;
  const settings = testSettings(engine, { retries: retries ?? 0, threads: threads ?? 2, noCache: noCache ?? false });
  const result = await runPlan(plan, settings, { cacheDir: join(cacheRoot, 'bootstrap'), ...rest });
  return { ...result, engine };
}

/** An image of an earlier run with base's input digest: reused by tagging it. */
const OLD_BASE = { id: 'sha256:old-base', labels: { [INPUT_DIGEST_LABEL]: 'sha256:base-digest' }, user: '' };

/** Counts the engine's searches by label: the slow way of finding an image by its input digest. */
class SearchCountingEngine extends FakeEngine {
  readonly searched: string[] = [];

  override findByLabel(key: string, value: string) {
    this.searched.push(value);
    return super.findByLabel(key, value);
  }
}

/** Builds and runs that take a while, and images naming their service's package: each step has a time to show. */
class StepTimingEngine extends FakeEngine {
  static readonly BUILD_MS = 120;
  static readonly RUN_MS = 60;

  override async build(request: BuildRequest) {
    await delay(StepTimingEngine.BUILD_MS);
    return super.build({ ...request, labels: { ...request.labels, [VERSION_PACKAGE_LABEL]: 'cron' } });
  }

  override async run() {
    await delay(StepTimingEngine.RUN_MS);
    return ok({ exitCode: 0, output: '3.0pl1-162\n' });
  }
}

const names = (entries: Array<{ name: string }>) => entries.map((entry) => entry.name).sort();
const statuses = (summary: RunSummary) => Object.fromEntries(summary.failed.map((entry) => [entry.name, entry.status]));

describe('a build run against an engine that fails in every way it can', () => {
  before(() => {
    // Every cache path of the run must come from the options or this variable, never the host's.
    cacheRoot = temporaryDir('ci-builder-cache-');
    process.env.CI_BUILDER_CACHE_DIR = join(cacheRoot, 'env');
    hostCacheBefore = listing(hostCache);
  });
  after(() => {
    assert.equal(listing(join(cacheRoot, 'env')), undefined, 'nothing fell back to the default cache');
    assert.deepEqual(listing(hostCache), hostCacheBefore, 'the host cache was not written');
    delete process.env.CI_BUILDER_CACHE_DIR;
  });

  it('reports a failed image as error, its descendants as parent_error naming it, builds the rest', async () => {
    const engine = withBase({ failBuild: new Map([[reference('openstack-base'), 'build']]) });
    const { exitCode, summary, events } = await run(planOf(TREE()), engine);
    assert.equal(exitCode, 1);
    assert.deepEqual(statuses(summary), { 'openstack-base': 'error', keystone: 'parent_error' });
    assert.equal(summary.failed.find((entry) => entry.name === 'keystone')?.reason, 'parent openstack-base failed');
    assert.match(summary.failed.find((entry) => entry.name === 'openstack-base')?.reason ?? '', /RUN false/);
    assert.deepEqual(names(summary.built), ['base', 'cron', 'memcached']);
    assert.deepEqual(summary.skipped, []);
    const failedEvents = events.filter((event) => event.type === 'image' && event.reason === 'failed');
    const keystone = failedEvents.find((event) => event.name === 'keystone');
    assert.equal(keystone?.attempts, 0, 'never started');
  });

  it('fails the run when the base image cannot be made: failed names it, every image is parent_error', async () => {
    // A root filesystem in the cache makes the base image an import, so no mmdebstrap runs here.
    mkdirSync(join(cacheRoot, 'bootstrap'), { recursive: true });
    writeFileSync(join(cacheRoot, 'bootstrap', '0123456789abcdef.tar'), 'not really a tar');
    const engine = new FakeEngine({ failBuild: new Map([[BASE.reference, 'build']]) });
    const { exitCode, summary } = await run(planOf(TREE()), engine);
    assert.equal(exitCode, 1);
    assert.deepEqual(summary.failed[0], { name: BASE.reference, status: 'error', reason: summary.failed[0]?.reason });
    assert.match(summary.failed[0].reason, /importing the debian root filesystem failed/);
    const parentError = { base: 'parent_error', memcached: 'parent_error', cron: 'parent_error' };
    const parentErrorBelow = { 'openstack-base': 'parent_error', keystone: 'parent_error' };
    assert.deepEqual(statuses(summary), { [BASE.reference]: 'error', ...parentError, ...parentErrorBelow });
    const memcached = summary.failed.find((entry) => entry.name === 'memcached');
    assert.equal(memcached?.reason, `base image ${BASE.reference} failed`);
    assert.deepEqual(summary.built, []);
    assert.deepEqual(summary.base_image, { reference: BASE.reference, outcome: 'failed' });
    assert.deepEqual(engine.calls, [`build ${BASE.reference}`], 'no image build was attempted');
    assert.ok(existsSync(join(cacheRoot, 'bootstrap', '0123456789abcdef.tar')), 'the cached root filesystem is kept');
  });

  it('ends a push that throws in a push failed event: push_error, push_failed, push-failed.txt, exit 1', async () => {
    const plan = planOf([image('base', null), image('cron', 'base')]);
    const push = { threads: 2, attempts: 3, backoffMs: 1, insecure: true };
    const engine = withBase({ pushThrows: new Set([reference('cron')]) });
    const { exitCode, summary, events, runDir } = await run(plan, engine, { push });
    assert.equal(exitCode, 1);
    const failedPush = events.filter((event) => event.type === 'push' && event.reason === 'failed');
    assert.equal(failedPush.length, 1);
    const [failure] = failedPush;
    assert.ok(failure !== undefined);
    assert.deepEqual([failure.attempts, failure.status], [3, 'push_error']);
    assert.deepEqual(
      summary.failed.map((entry) => [entry.name, entry.status]),
      [['cron', 'push_error']],
    );
    assert.match(summary.failed[0]?.reason ?? '', /fake adapter bug pushing/);
    assert.deepEqual(
      summary.push_failed.map((entry) => entry.name),
      ['cron'],
    );
    assert.deepEqual(names(summary.pushed), ['base']);
    assert.deepEqual(names(summary.built), ['base'], 'an image that did not reach the registry is failed, not built');
    assert.equal(readFileSync(join(runDir, 'push-failed.txt'), 'utf8'), `${reference('cron')}\n`);
    assert.deepEqual(engine.pushed, [reference('base')]);
  });

  it('retries a push that fails, and a push that succeeds in the end is no failure', async () => {
    const push = { threads: 1, attempts: 3, backoffMs: 1, insecure: true };
    const engine = withBase({ pushFailures: new Map([[reference('base'), 2]]) });
    const { exitCode, summary } = await run(planOf([image('base', null)]), engine, { push });
    assert.equal(exitCode, 0);
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.images.base?.push?.attempts, 3);
  });

  it('marks an image that passed only on a retry flaky in summary.json, with its attempts; one that never passed is not', async () => {
    const engine = withBase({
      buildFailures: new Map([[reference('cron'), 2]]),
      failBuild: new Map([[reference('memcached'), 'build']]),
    });
    const { exitCode, summary, events } = await run(planOf(TREE()), engine, { retries: 3 });
    assert.equal(exitCode, 1);
    assert.deepEqual(names(summary.built), ['base', 'cron', 'keystone', 'openstack-base']);
    assert.deepEqual(summary.flaky, [{ name: 'cron', attempts: 3 }]);
    const { cron, keystone, memcached } = summary.images;
    assert.deepEqual([cron?.flaky, cron?.attempts], [true, 3]);
    assert.equal(keystone?.flaky, undefined, 'passed at once');
    assert.deepEqual(statuses(summary), { memcached: 'error' });
    assert.deepEqual([memcached?.flaky, memcached?.attempts], [undefined, 4], 'failed every attempt: not flaky');
    const retries = events.filter((event) => event.type === 'image' && event.reason === 'retrying');
    assert.equal(retries.filter((event) => event.name === 'cron').length, 2);
  });

  for (const how of ['fail', 'throw'] as const) {
    it(`retries a reuse whose tag ${how === 'fail' ? 'fails' : 'throws'}, as a build failure is retried`, async () => {
      const engine = withBase({ tagFailures: { count: 1, how } });
      engine.images.set('old/base:t0', OLD_BASE);
      const { exitCode, summary, events } = await run(planOf([image('base', null)]), engine, { retries: 1 });
      assert.equal(exitCode, 0, JSON.stringify(summary.failed));
      assert.deepEqual(names(summary.reused), ['base']);
      assert.ok(events.some((event) => event.type === 'image' && event.reason === 'retrying' && event.name === 'base'));
      assert.deepEqual(engine.tagged, [['sha256:old-base', reference('base')]]);
    });
  }

  it('makes a tag failure with no retries left a failure of that image, not a crash', async () => {
    const engine = withBase({ tagFailures: { count: 5, how: 'throw' } });
    engine.images.set('old/base:t0', OLD_BASE);
    const plan = planOf([image('base', null), image('cron', 'base')]);
    const { exitCode, summary } = await run(plan, engine, { retries: 1 });
    assert.equal(exitCode, 1);
    assert.deepEqual(statuses(summary), { base: 'error', cron: 'parent_error' });
    assert.match(summary.failed[0]?.reason ?? '', /buildah tag: fake adapter bug tagging/);
  });

  it('turns a --skip-parents parent whose tag fails into a retried node failure', async () => {
    const engine = withBase({ tagFailures: { count: 1, how: 'fail' } });
    engine.images.set('old/base:t0', OLD_BASE);
    const plan = planOf([image('cron', 'base')], [image('base', null)]);
    const { exitCode, summary } = await run(plan, engine, { retries: 1 });
    assert.equal(exitCode, 0, JSON.stringify(summary.failed));
    assert.deepEqual(
      summary.skipped.map((entry) => entry.name),
      ['base'],
    );
    assert.deepEqual(names(summary.built), ['cron']);
  });

  it('exits 130 on an interrupt, with the running image and the ones after it interrupted', async () => {
    const controller = new AbortController();
    const engine = withBase({
      hangBuild: reference('openstack-base'),
      onBuildStarted: (started) => started === reference('openstack-base') && setTimeout(() => controller.abort(), 5),
    });
    const plan = planOf([image('base', null), image('openstack-base', 'base'), image('keystone', 'openstack-base')]);
    const { exitCode, summary } = await run(plan, engine, { signal: controller.signal, threads: 1 });
    assert.equal(exitCode, 130);
    assert.equal(summary.interrupted, true);
    assert.deepEqual(names(summary.built), ['base']);
    assert.deepEqual(statuses(summary), { 'openstack-base': 'interrupted', keystone: 'interrupted' });
  });

  it('takes the exit code from the scheduler, not from what a reporter collected', async () => {
    const engine = withBase({ failBuild: new Map([[reference('base'), 'connection']]) });
    const unattached = new SummaryCollector();
    const runDir = temporaryDir('ci-builder-run-');
    const result = await executeBuildRun({
      plan: planOf([image('base', null)]),
      settings: testSettings(engine, { threads: 1 }),
      runDir,
      cacheDir: join(cacheRoot, 'bootstrap'),
      events: new EventBus(),
      summary: unattached,
      signal: new AbortController().signal,
    });
    assert.deepEqual(unattached.summary.failed, [], 'the collector saw no event');
    assert.equal(result.exitCode, 1);
    assert.equal(runExitCode(new Map([['a', { state: 'succeeded' }]]), [], false), 0);
    assert.equal(runExitCode(new Map([['a', { state: 'skipped', because: 'b' }]]), [], false), 1);
    const pushFailed = { name: 'a', reference: 'r', result: fail({ status: 'push_error' as const, message: 'x' }) };
    assert.equal(runExitCode(new Map(), [pushFailed], false), 1);
    const pushed = { name: 'a', reference: 'r', result: ok(undefined) };
    assert.equal(runExitCode(new Map([['a', { state: 'succeeded' }]]), [pushed], true), 130);
  });

  it('with noCache builds every image again, though an image with its input digest exists', async () => {
    const engine = withBase();
    engine.images.set('registry.test/ns/base:old', OLD_BASE);
    const reusing = await run(planOf(TREE()), engine);
    assert.deepEqual(names(reusing.summary.reused), ['base'], 'without it, base is reused');
    const again = await run(planOf(TREE()), engine, { noCache: true });
    assert.equal(again.exitCode, 0);
    assert.deepEqual(names(again.summary.built), ['base', 'cron', 'keystone', 'memcached', 'openstack-base']);
    assert.deepEqual(again.summary.reused, []);
    assert.deepEqual(
      engine.builtWithoutCache.sort(),
      TREE()
        .map((entry) => entry.reference)
        .sort(),
    );
  });

  it('keeps in summary.json where each built image’s seconds went: context, engine, version label', async () => {
    const engine = new StepTimingEngine();
    engine.images.set('registry.test/ns/base:old', OLD_BASE);
    const { exitCode, summary } = await run(planOf([image('base', null), image('cron', 'base')]), engine);
    assert.equal(exitCode, 0);
    const { base, cron } = summary.images;
    assert.deepEqual([base?.status, base?.build_steps], ['reused', undefined], 'a reused image has no steps');
    const steps = cron?.build_steps;
    assert.ok(cron?.build_seconds !== undefined && steps !== undefined, 'a built image has its steps');
    assert.ok(steps.engine >= StepTimingEngine.BUILD_MS / 1000, `engine ${steps.engine} s holds the build`);
    assert.ok(steps.version_label >= StepTimingEngine.RUN_MS / 1000, `version_label ${steps.version_label} s`);
    assert.ok(steps.context >= 0);
    assert.equal(steps.lookup, undefined, 'the run decided each image’s work before it began: no lookup here');
    // The build's own steps are within its seconds (the lookup comes before the build starts).
    const within = steps.context + steps.engine + steps.version_label;
    assert.ok(within <= cron.build_seconds + 0.01, `${within} s of steps in ${cron.build_seconds} s`);
  });

  it('takes the image an earlier run recorded without a search; searches when it is gone or another image', async () => {
    const engine = new SearchCountingEngine();
    engine.images.set(BASE.reference, { id: 'sha256:base-image', labels: {}, user: '' });
    engine.images.set('registry.test/ns/base:old', OLD_BASE);
    const oldCron = { id: 'sha256:old-cron', labels: { [INPUT_DIGEST_LABEL]: 'sha256:cron-digest' }, user: '' };
    engine.images.set('registry.test/ns/cron:old', oldCron);
    const byInput = new Map([
      ['sha256:base-digest', OLD_BASE.id],
      // Removed since: the search finds the engine's other image with that digest.
      ['sha256:cron-digest', 'sha256:removed-since'],
      // An image with another digest's label (the recorded id was reused for something else): not taken.
      ['sha256:memcached-digest', OLD_BASE.id],
    ]);
    const recordedImages = { byInput, byRecipe: new Map<string, string[]>() };
    const result = await run(planOf(TREE()), engine, { recordedImages });
    assert.equal(result.exitCode, 0);
    assert.deepEqual(names(result.summary.reused), ['base', 'cron']);
    assert.deepEqual(names(result.summary.built), ['keystone', 'memcached', 'openstack-base']);
    assert.deepEqual(engine.tagged.slice(0, 2).sort(), [
      [OLD_BASE.id, reference('base')],
      [oldCron.id, reference('cron')],
    ]);
    assert.deepEqual(
      engine.searched.sort(),
      ['cron', 'keystone', 'memcached', 'openstack-base'].map((name) => `sha256:${name}-digest`),
      'every image but base was searched for by label',
    );
  });

  it('reports an unreachable engine as connection_error', async () => {
    const engine = withBase({ failBuild: new Map([[reference('base'), 'connection']]) });
    const { summary } = await run(planOf([image('base', null)]), engine);
    assert.deepEqual(statuses(summary), { base: 'connection_error' });
  });
});

describe('the run graph', () => {
  it('makes the base image a typed node that root images built FROM it wait for', () => {
    const nodes = runGraph(planOf(TREE()));
    const base = nodes.find((node) => node.kind === 'base-image');
    assert.equal(base?.id, BASE.reference);
    const dependencies = Object.fromEntries(nodes.map((node) => [node.id, node.dependsOn]));
    assert.deepEqual(dependencies.base, [BASE.reference]);
    assert.deepEqual(dependencies.memcached, [BASE.reference]);
    assert.deepEqual(dependencies.cron, ['base']);
  });

  it('has no base-image node when no image is built FROM it', () => {
    const outside = { ...image('tool', null), dockerfile: 'FROM debian:bookworm\n', fromBaseImage: false };
    const skippedParent = image('base', null);
    const nodes = runGraph(planOf([outside, image('cron', 'base')], [skippedParent]));
    const shape = nodes.map((node) => [node.kind, node.id, node.dependsOn]);
    assert.deepEqual(shape, [
      ['image', 'base', []],
      ['image', 'tool', []],
      ['image', 'cron', ['base']],
    ]);
  });

  it('reads whether a rendered FROM names the base image', () => {
    assert.equal(fromNames(`FROM ${BASE.reference}\nRUN true\n`, BASE.reference), true);
    assert.equal(fromNames(`from --platform=linux/amd64 ${BASE.reference} AS build\n`, BASE.reference), true);
    assert.equal(fromNames(`FROM ${BASE.reference}-other\n`, BASE.reference), false);
    assert.equal(fromNames('FROM debian:bookworm\n# FROM x\n', BASE.reference), false);
  });
});

describe('the limiter', () => {
  it('loses no rejection: the caller gets it, and drain reports every one', async () => {
    const limiter = new Limiter(1);
    const first = limiter.add(() => Promise.reject(new Error('first')));
    const second = limiter.add(() => Promise.reject(new Error('second')));
    const fine = limiter.add(() => Promise.resolve('fine'));
    await assert.rejects(first, /first/);
    const bothReported = (error: unknown) => error instanceof AggregateError && error.errors.length === 2;
    await assert.rejects(limiter.drain(), bothReported);
    await assert.rejects(second, /second/);
    assert.equal(await fine, 'fine');
  });
});
