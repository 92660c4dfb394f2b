import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEventInput } from '../../src/report/events.js';
import { PlainReporter, type Verbosity } from '../../src/report/plain.js';
import { capture } from '../helpers/capture.js';

/** The lines a plain reporter writes for these events, without their timestamps. */
function linesFor(verbosity: Verbosity, inputs: RunEventInput[]): string[] {
  const { out, text } = capture();
  const reporter = new PlainReporter(out, verbosity);
  for (const input of inputs) reporter.handle({ at: '2026-01-02T03:04:05.000Z', ...input });
  return text()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^03:04:05 /, ''));
}

describe('the plain log', () => {
  const retried: RunEventInput[] = [
    { type: 'image', reason: 'started', name: 'horizon', attempt: 1 },
    { type: 'image', reason: 'retrying', name: 'horizon', attempt: 2, message: 'buildah bud exited with 1' },
    { type: 'image', reason: 'started', name: 'horizon', attempt: 2 },
    { type: 'image', reason: 'built', name: 'horizon', imageId: 'x', seconds: 61.5 },
    { type: 'image', reason: 'started', name: 'cron', attempt: 1 },
    { type: 'image', reason: 'built', name: 'cron', imageId: 'y', seconds: 4 },
  ];

  it('says an image that passed only on a retry is flaky, with the attempt it passed on', () => {
    assert.deepEqual(linesFor('normal', retried), [
      'horizon: building',
      'horizon: retrying (attempt 2) after: buildah bud exited with 1',
      'horizon: building (attempt 2)',
      'horizon: built (61.5s), flaky: passed on attempt 2',
      'cron: building',
      'cron: built (4.0s)',
    ]);
  });

  it('says it even when quiet, where a build that passed at once is not said', () => {
    assert.deepEqual(linesFor('quiet', retried), ['horizon: built (61.5s), flaky: passed on attempt 2']);
  });
});
