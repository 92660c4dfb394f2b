import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownShare, ownSteps, ownStepsTable } from '../../bench/versus-kolla/own-steps.js';
import type { RunSummary } from '../../src/report/summary.js';

const started = Date.parse('2026-12-06T20:30:00.000Z');
const summary: Partial<RunSummary> = {
  started_at: '2026-12-06T20:30:03.500Z',
  finished_at: '2026-12-06T20:33:50.000Z',
  images: {
    base: {
      reference: 'r/base:t',
      parent: null,
      input_digest: 'sha256:b',
      status: 'built',
      build_seconds: 20,
      build_steps: { context: 0.1, engine: 19, version_label: 0.5 },
    },
    cron: {
      reference: 'r/cron:t',
      parent: 'base',
      input_digest: 'sha256:c',
      status: 'built',
      build_seconds: 10,
      build_steps: { context: 0.1, engine: 9, version_label: 0.6 },
    },
    // Reused and failed images took no build steps: left out of the sums.
    memcached: { reference: 'r/memcached:t', parent: 'base', input_digest: 'sha256:m', status: 'reused' },
    keystone: { reference: 'r/keystone:t', parent: 'base', input_digest: 'sha256:k', status: 'failed' },
  },
};

describe("the versus-kolla bench's own steps of a ci-builder run", () => {
  it('sums the built images’ steps, and times the command outside the run', () => {
    const steps = ownSteps(summary, started, Date.parse('2026-12-06T20:33:50.250Z'));
    assert.ok(steps !== null);
    assert.deepEqual(
      { ...steps, context: Number(steps.context.toFixed(3)), versionLabel: Number(steps.versionLabel.toFixed(3)) },
      { images: 2, imageSeconds: 30, engine: 28, context: 0.2, versionLabel: 1.1, beforeRun: 3.5, afterRun: 0.25 },
    );
    assert.equal(Number(ownShare(steps).toFixed(4)), Number((2 / 30).toFixed(4)));
    const [header, , row] = ownStepsTable([{ scenario: 'cold', tool: 'docker', steps }]);
    assert.match(header ?? '', /engine build s/);
    assert.equal(row, '| cold | docker | 2 | 30.0 | 28.0 | 0.2 | 1.1 | 0.7 | 6.7 % | 3.5 | 0.3 |');
  });

  it('has nothing to say of a run without a summary', () => {
    assert.equal(ownSteps({}, started, started), null);
  });
});
