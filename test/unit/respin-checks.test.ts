import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRuns, describeDifferences, notFromSnapshot } from '../../bench/respin/package-sets.js';
import { countsOf, patchVerdict, type ScenarioResult } from '../../bench/respin/scenarios.js';
import type { RunSummary } from '../../src/report/summary.js';

const set = (entries: Record<string, string>) => new Map(Object.entries(entries));

function run(overrides: Partial<ScenarioResult>): ScenarioResult {
  return {
    id: 'b-full',
    title: 'A→B full',
    snapshot: 'B',
    mode: 'full',
    tag: 't',
    flags: [],
    exitCode: 0,
    wallSeconds: 300,
    beforeRunSeconds: 2,
    images: 36,
    built: 36,
    reused: 0,
    patched: 0,
    stacked: 0,
    composed: { images: 0, pullSeconds: 0 },
    stackSteps: {},
    failed: [],
    pushedMB: 1000,
    imagesTest: { exitCode: 0, tested: 36, failedChecks: 0, failed: [] },
    notFromSnapshot: [],
    respin: {},
    ...overrides,
  };
}

describe('the respin bench checks', () => {
  it("sums the stacked images' seconds by step over the run, and counts the stacked", () => {
    const image = (extra: object) => ({ name: 'x', reference: 'r', status: 'patched' as const, ...extra });
    const summary = {
      built: [],
      failed: [],
      patched: [{ name: 'base' }, { name: 'cron' }, { name: 'memcached' }],
      reused: [],
      images: {
        base: image({}),
        cron: image({
          stacked_on_patched_parent: true,
          stack_steps: { parents_mounted: 0.5, carried: 1, merged: 0.25 },
        }),
        memcached: image({ stacked_on_patched_parent: true, stack_steps: { carried: 2, own_upgrade: 3 } }),
      },
    } as unknown as RunSummary;
    const counts = countsOf(summary);
    assert.equal(counts.stacked, 2);
    assert.equal(counts.patched, 3);
    assert.deepEqual(counts.stackSteps, { parents_mounted: 0.5, carried: 3, merged: 0.25, own_upgrade: 3 });
  });

  it('finds no difference between equal package sets, and every one between unequal ones', () => {
    const full = {
      base: set({ libc6: '2.36-9+deb12u13', tzdata: '2026f' }),
      memcached: set({ memcached: '1.6.18-1' }),
    };
    assert.deepEqual(compareRuns(full, { ...full }), {
      compared: ['base', 'memcached'],
      unpaired: [],
      differences: [],
    });
    const patch = {
      base: set({ libc6: '2.36-9+deb12u7', tzdata: '2026f', extra: '1' }),
      memcached: set({ memcached: '1.6.18-1' }),
    };
    const found = compareRuns(full, patch).differences;
    assert.deepEqual(found, [
      { image: 'base', name: 'extra', right: '1' },
      { image: 'base', name: 'libc6', left: '2.36-9+deb12u13', right: '2.36-9+deb12u7' },
    ]);
    assert.equal(describeDifferences(found, 1), 'base: extra (none) ≠ 1; and 1 more');
  });

  it('sets aside, and names, an image only one run made', () => {
    const full = { base: set({ tzdata: '2026f' }), 'cinder-volume': set({ tgt: '1' }) };
    assert.deepEqual(compareRuns(full, { base: set({ tzdata: '2026f' }) }), {
      compared: ['base'],
      unpaired: ['cinder-volume'],
      differences: [],
    });
  });

  it('names each installed package its snapshot does not hold at that version', () => {
    const snapshot = set({ libssl3: '3.0.22-1~deb12u2', tzdata: '2026f' });
    assert.deepEqual(notFromSnapshot({ base: set({ libssl3: '3.0.22-1~deb12u2', tzdata: '2026f' }) }, snapshot), []);
    assert.deepEqual(notFromSnapshot({ base: set({ libssl3: '3.0.20-1~deb12u2', local: '1' }) }, snapshot), [
      { image: 'base', name: 'libssl3', left: '3.0.20-1~deb12u2', right: '3.0.22-1~deb12u2' },
      { image: 'base', name: 'local', left: '1' },
    ]);
  });

  it('says a patch run that patched nothing rebuilt or reused, and claims no speed-up', () => {
    const patch = run({ id: 'b-patch', title: 'A→B patch', mode: 'patch', wallSeconds: 250 });
    const verdict = patchVerdict(run({}), patch);
    assert.match(verdict, /no image patched \(36 built, 0 reused\): no speed-up/);
    assert.doesNotMatch(verdict, /×/);
  });

  it('gives the patch run its ratio to the full rebuild once images are patched', () => {
    const patch = run({
      title: 'A→B patch',
      mode: 'patch',
      patched: 30,
      reused: 6,
      built: 0,
      wallSeconds: 60,
      pushedMB: 50,
    });
    assert.equal(
      patchVerdict(run({}), patch),
      'A→B patch: 30 patched, 6 reused, 0 built in 60 s: 0.20 × the wall time of A→B full and 5.0% of its MB pushed',
    );
  });
});
