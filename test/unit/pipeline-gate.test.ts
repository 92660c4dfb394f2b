import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeReason, pipelineVerdict, type SetOutcome } from '../../src/pipeline/exit-reasons.js';
import { gateDecision, scanGate, type GateContext } from '../../src/pipeline/gate.js';
import { EventBus } from '../../src/report/events.js';
import type { RunSummary } from '../../src/report/summary.js';
import type { ImageGate } from '../../src/run/gate-port.js';
import type { Verdict } from '../../src/scan/types.js';
import { VulnerabilityDatabase } from '../../src/scan/vulnerability-db.js';
import { Limiter } from '../../src/util/limiter.js';
import type { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import {
  engineWithBase,
  planOf,
  plannedImage,
  runPlan,
  testReference,
  testSettings,
  type HarnessOptions,
  type HarnessRun,
} from '../helpers/run-harness.js';

const reference = testReference;
const image = (name: string, parent: string | null) => plannedImage(name, parent);

/** base → openstack-base → keystone, base → cron. */
const IMAGES = () => [
  image('base', null),
  image('cron', 'base'),
  image('openstack-base', 'base'),
  image('keystone', 'openstack-base'),
];

const PUSH = { threads: 2, attempts: 2, backoffMs: 1, insecure: true };

async function gatedRun(
  engine: FakeEngine,
  makeGate: (events: EventBus, runDir: string) => ImageGate,
  options: HarnessOptions = {},
): Promise<HarnessRun> {
  const settings = testSettings(engine, { threads: 1, push: true });
  const runDir = temporaryDir('ci-builder-pipeline-run-');
  return runPlan(planOf(IMAGES()), settings, { runDir, push: PUSH, gateFor: makeGate, ...options });
}

/** A gate with a verdict per image, emitting what the pipeline's scanning gate emits. */
function verdictGate(verdicts: Record<string, Verdict>, pushDirty: boolean) {
  return (events: EventBus): ImageGate =>
    (planned) => {
      const verdict = verdicts[planned.name] ?? 'clean';
      const { name } = planned;
      const counts = {
        UNKNOWN: 0,
        LOW: 0,
        MEDIUM: 0,
        HIGH: verdict === 'dirty' ? 1 : 0,
        CRITICAL: verdict === 'critical' ? 1 : 0,
      };
      events.emit({
        type: 'scan',
        reason: 'scanned',
        name,
        reference: planned.reference,
        verdict,
        counts,
        allowed: 0,
        seconds: 0,
      });
      const decision = gateDecision({ kind: 'scanned', verdict }, pushDirty);
      if (!decision.push) events.emit({ type: 'push', reason: 'held', name, reference: planned.reference, verdict });
      return Promise.resolve(decision);
    };
}

const outcome = (summary: RunSummary, exitCode: 0 | 1 | 130 = 0): SetOutcome => ({
  distro: 'debian',
  set: 'overcloud',
  tag: 't1',
  runDir: '/tmp/x',
  summary,
  exitCode,
});

describe('the pipeline gate', () => {
  it('pushes clean and dirty images, holds critical ones unless --push-dirty, never an unscanned one', () => {
    const decide = (verdict: Verdict, pushDirty: boolean) => gateDecision({ kind: 'scanned', verdict }, pushDirty).push;
    assert.deepEqual(
      (['clean', 'dirty', 'critical'] as const).map((verdict) => [decide(verdict, false), decide(verdict, true)]),
      [
        [true, true],
        [true, true],
        [false, true],
      ],
    );
    assert.equal(gateDecision({ kind: 'failed' }, true).push, false);
  });

  it('lets a clean image be pushed while other images still build, and holds a critical one', async () => {
    const engine = engineWithBase();
    const run = await gatedRun(engine, verdictGate({ keystone: 'critical', cron: 'dirty' }, false));
    assert.deepEqual(engine.pushed.sort(), [reference('base'), reference('cron'), reference('openstack-base')]);
    assert.ok(
      engine.calls.indexOf(`push ${reference('base')}`) < engine.calls.indexOf(`build ${reference('keystone')}`),
      `base is pushed before keystone's build starts: ${engine.calls.join(', ')}`,
    );
    assert.deepEqual(run.summary.held, [{ name: 'keystone', reference: reference('keystone'), verdict: 'critical' }]);
    assert.deepEqual(run.summary.scanned.map((scan) => `${scan.name} ${scan.verdict}`).sort(), [
      'base clean',
      'cron dirty',
      'keystone critical',
      'openstack-base clean',
    ]);
    assert.equal(run.exitCode, 0, 'the build run itself succeeded: holding is the pipeline verdict');
    const verdict = pipelineVerdict([outcome(run.summary)], false);
    assert.equal(verdict.exitCode, 1);
    assert.deepEqual(verdict.reasons.map(describeReason), [
      'debian overcloud: critical vulnerabilities, not pushed (--push-dirty pushes them): keystone',
    ]);
  });

  it('pushes the critical image too with --push-dirty, and the pipeline succeeds', async () => {
    const engine = engineWithBase();
    const run = await gatedRun(engine, verdictGate({ keystone: 'critical' }, true));
    assert.equal(engine.pushed.length, 4);
    assert.deepEqual(run.summary.held, []);
    assert.deepEqual(pipelineVerdict([outcome(run.summary)], false), { exitCode: 0, reasons: [] });
  });

  it('the scanning gate fails an image the engine cannot export: scan failed, not pushed, a reason', async () => {
    const engine = engineWithBase();
    const context: GateContext = {
      settings: {
        engine,
        scanner: { kind: 'osv', database: new VulnerabilityDatabase() },
        ignoreUnfixed: false,
        allowList: new Map(),
      },
      scans: new Limiter(1),
      pushDirty: true,
      toolVersion: '0.0.0',
      found: [],
      admitted: [],
    };
    const run = await gatedRun(engine, (events, runDir) => scanGate(context, { events, runDir }));
    assert.deepEqual(engine.pushed, []);
    const failed = run.events.filter((event) => event.type === 'scan' && event.reason === 'failed');
    assert.equal(failed.length, 4);
    assert.match(JSON.stringify(failed[0]), /cannot read the image: the fake engine cannot export/);
    assert.deepEqual(run.summary.held, [], 'held is for verdicts; an unscanned image is a scan failure');
    const verdict = pipelineVerdict([outcome(run.summary)], false);
    assert.equal(verdict.reasons.length, 1);
    const [reason = ''] = verdict.reasons.map(describeReason);
    assert.match(reason, /^debian overcloud: 4 image\(s\) could not be scanned: /);
    assert.deepEqual(reason.split(': ')[2]?.split(', ').sort(), ['base', 'cron', 'keystone', 'openstack-base']);
  });
});

describe('the pipeline gate and respin.compose registry', () => {
  const gateContext = (engine: FakeEngine, scanner: GateContext['settings']['scanner']): GateContext => ({
    settings: { engine, scanner, ignoreUnfixed: false, allowList: new Map() },
    scans: new Limiter(1),
    pushDirty: false,
    toolVersion: '0.0.0',
    found: [],
    admitted: [],
  });
  const composing = (engine: FakeEngine, compose: 'auto' | 'registry' = 'registry') => ({
    ...testSettings(engine, { threads: 1, push: true }),
    respin: { mode: 'patch' as const, maxPatchLayers: 3, compose, refresh: false },
  });
  const warnings = (run: HarnessRun) =>
    run.events.flatMap((event) => (event.type === 'warning' ? [event.message] : []));

  it("says the built-in scanner's gate reads composed roots, and trivy's does not", () => {
    const engine = engineWithBase();
    const runDir = temporaryDir('ci-builder-gate-');
    const events = new EventBus();
    const osv = scanGate(gateContext(engine, { kind: 'osv', database: new VulnerabilityDatabase() }), {
      events,
      runDir,
    });
    assert.equal(osv.readsComposedRoots, true);
    assert.equal(scanGate(gateContext(engine, { kind: 'trivy' }), { events, runDir }).readsComposedRoots, false);
  });

  it('lets a run whose gate reads composed roots go on to compose; with another gate, it stacks in the store', async () => {
    const engine = engineWithBase();
    const runDir = temporaryDir('ci-builder-run-');
    const plain: ImageGate = () => Promise.resolve({ push: true });
    const reading: ImageGate = Object.assign(() => Promise.resolve({ push: true }), { readsComposedRoots: true });
    const refused = await runPlan(planOf(IMAGES()), composing(engine), { runDir, push: PUSH, gateFor: () => plain });
    assert.deepEqual(warnings(refused), [
      'respin.compose registry: stacking in the store, since its gate cannot read an image composed at the registry (trivy scans exported images only)',
    ]);
    // The fake engine cannot compose: the next reason is the engine's, so the gate let the run past its own.
    const engine2 = engineWithBase();
    const passed = await runPlan(planOf(IMAGES()), composing(engine2), { push: PUSH, gateFor: () => reading });
    assert.deepEqual(warnings(passed), [
      'respin.compose registry: stacking in the store, since buildah cannot compose',
    ]);
    // auto, the default, stacks in the store as quietly where it cannot compose.
    const quiet = await runPlan(planOf(IMAGES()), composing(engineWithBase(), 'auto'), {
      push: PUSH,
      gateFor: () => plain,
    });
    assert.deepEqual(warnings(quiet), []);
  });
});

describe('the pipeline exit reasons', () => {
  it('names a failed build, a failed push and a distro that built nothing, one line each', async () => {
    const failing = engineWithBase({
      failBuild: new Map([[reference('cron'), 'build']]),
      pushFailures: new Map([[reference('openstack-base'), 5]]),
    });
    const run = await gatedRun(failing, verdictGate({}, false));
    assert.equal(run.exitCode, 1);
    const nothing = await gatedRun(
      engineWithBase({ failBuild: new Map([[reference('base'), 'build']]) }),
      verdictGate({}, false),
    );
    const rocky: SetOutcome = { ...outcome(nothing.summary, 1), distro: 'rocky' };
    const unplanned: SetOutcome = {
      distro: 'ubuntu',
      set: 'seed',
      tag: 't',
      runDir: '/x',
      exitCode: 1,
      notRun: { kind: 'could-not-start', message: 'no repo' },
    };
    const verdict = pipelineVerdict([outcome(run.summary, 1), rocky, unplanned], false);
    assert.equal(verdict.exitCode, 1);
    assert.deepEqual(verdict.reasons.map(describeReason), [
      'rocky: no image was built',
      'ubuntu: no image was built',
      'debian overcloud: 1 build(s) failed: cron',
      'debian overcloud: 1 push(es) failed: openstack-base',
      'rocky overcloud: 4 build(s) failed: base, cron, openstack-base, keystone',
      'ubuntu seed: no repo',
    ]);
  });

  it('is 130 with one reason when interrupted', () => {
    assert.deepEqual(pipelineVerdict([], true), { exitCode: 130, reasons: [{ kind: 'interrupted' }] });
  });
});
