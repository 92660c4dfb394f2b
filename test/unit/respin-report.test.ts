import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageWork, RunEventInput } from '../../src/report/events.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { LiveReporter } from '../../src/report/live.js';
import { PlainReporter } from '../../src/report/plain.js';
import { SummaryCollector } from '../../src/report/summary.js';
import { capture } from '../helpers/capture.js';

const moved = [
  { name: 'libssl3', architecture: 'amd64', from: '3.0.11-1~deb12u2', to: '3.0.15-1~deb12u1' },
  { name: 'openssl', architecture: 'amd64', from: '3.0.11-1~deb12u2', to: '3.0.15-1~deb12u1' },
];
const work: Record<string, ImageWork> = {
  base: { kind: 'patch', imageId: 'sha256:a1', snapshotSet: 'debian=1', packages: moved },
  // Its own layers stacked onto the patched base.
  leaf: { kind: 'patch', imageId: 'sha256:a4', snapshotSet: 'debian=1', packages: moved },
  quiet: { kind: 'respin-reuse', imageId: 'sha256:a2', snapshotSet: 'debian=1' },
  same: { kind: 'reuse', imageId: 'sha256:b3' },
  child: { kind: 'build', why: { kind: 'parent-rebuilt', parent: 'other' } },
  fresh: { kind: 'build', why: { kind: 'new-recipe' } },
};

/** A respin run's events: each image planned, then made as planned. */
function respinRun(): RunEventInput[] {
  const events: RunEventInput[] = [
    {
      type: 'run',
      reason: 'started',
      tag: 't',
      distro: 'debian',
      engine: 'buildah',
      runDir: '/r',
      images: Object.keys(work),
    },
  ];
  for (const name of Object.keys(work)) {
    events.push({
      type: 'image',
      reason: 'queued',
      name,
      reference: `r/${name}:t`,
      inputDigest: `d-${name}`,
      parent: null,
    });
  }
  for (const [name, planned] of Object.entries(work))
    events.push({ type: 'image', reason: 'planned', name, work: planned });
  for (const [name, planned] of Object.entries(work)) {
    events.push({ type: 'image', reason: 'started', name, attempt: 1 });
    if (planned.kind === 'patch')
      events.push({
        type: 'image',
        reason: 'patched',
        name,
        imageId: `new-${name}`,
        seconds: 3,
        packages: moved.length,
        ...(name === 'leaf'
          ? { stacked: true as const, steps: { parents_mounted: 0.5, carried: 2, merged: 0.5 } }
          : {}),
      });
    else if (planned.kind === 'build')
      events.push({ type: 'image', reason: 'built', name, imageId: `new-${name}`, seconds: 5 });
    else events.push({ type: 'image', reason: 'reused', name, imageId: planned.imageId, seconds: 0.1 });
  }
  return events;
}

const at = '2026-01-02T03:04:05.000Z';

describe('how each image was made, in the plain log, the live view and report.html', () => {
  it('the plain log says reused, patched (n packages) and rebuilt (why)', () => {
    const written = capture();
    const reporter = new PlainReporter(written.out, 'normal');
    for (const event of respinRun()) reporter.handle({ at, ...event });
    const text = written.text();
    const lines = text.split('\n').map((line) => line.replace(/^03:04:05 /, ''));
    for (const expected of [
      'base: patched (2 packages) (3.0s)',
      'leaf: patched (2 packages), its own layers onto the patched parent (3.0s)',
      'quiet: reused (snapshots moved, none of its packages) (0.1s)',
      'same: reused (nothing changed) (0.1s)',
      'child: rebuilt (its parent other is rebuilt) (5.0s)',
      'fresh: built (5.0s)',
    ])
      assert.ok(lines.includes(expected), `${expected}\nin:\n${text}`);
  });

  it('the live view says the same of each image', () => {
    const written = capture();
    const terminal = Object.assign(written.out, { isTTY: true, columns: 200, rows: 50 });
    const live = new LiveReporter(terminal, () => 0, 60_000);
    for (const event of respinRun()) live.handle({ at, ...event });
    live.handle({ at, type: 'run', reason: 'finished', interrupted: false });
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are taken out
    const plain = written.text().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const expected of [
      'patched (2 packages)',
      'reused (snapshots moved, none of its packages)',
      'rebuilt (its parent other is rebuilt)',
    ])
      assert.match(plain, new RegExp(expected.replace(/[()]/g, '\\$&')));
  });

  it("report.html gives each image's respin: reused, patched with its packages, rebuilt and why", () => {
    const collector = new SummaryCollector();
    for (const event of respinRun()) collector.handle({ at, ...event });
    const { summary } = collector;
    assert.deepEqual(summary.patched, [
      { name: 'base', packages: 2 },
      { name: 'leaf', packages: 2 },
    ]);
    assert.equal(summary.images.leaf?.stacked_on_patched_parent, true);
    assert.equal(summary.images.base?.stacked_on_patched_parent, undefined);
    assert.deepEqual(summary.images.leaf.stack_steps, { parents_mounted: 0.5, carried: 2, merged: 0.5 });
    assert.equal(summary.images.base?.stack_steps, undefined, 'a patch layer is one engine build: no stack steps');
    const html = renderHtmlReport(summary, {});
    assert.match(html, /openssl 3\.0\.11-1~deb12u2→3\.0\.15-1~deb12u1; its own layers stacked onto its patched parent/);
    assert.match(html, /patched \(2 packages\): libssl3 3\.0\.11-1~deb12u2→3\.0\.15-1~deb12u1, openssl/);
    assert.match(html, /reused: snapshots moved, none of its packages/);
    assert.match(html, /rebuilt: its parent other is rebuilt/);
  });

  it('marks a patch that passed only on a retry flaky, with its attempts, as a build that did', () => {
    const collector = new SummaryCollector();
    const written = capture();
    const reporter = new PlainReporter(written.out, 'quiet');
    for (const event of respinRun()) {
      const retried = event.type === 'image' && event.reason === 'patched' && event.name === 'base';
      for (const each of retried ? [{ type: 'image', reason: 'started', name: event.name, attempt: 2 } as const] : [])
        for (const handler of [collector, reporter]) handler.handle({ at, ...each });
      for (const handler of [collector, reporter]) handler.handle({ at, ...event });
    }
    const { summary } = collector;
    assert.deepEqual(summary.flaky, [{ name: 'base', attempts: 2 }]);
    assert.deepEqual([summary.images.base?.flaky, summary.images.base?.attempts], [true, 2]);
    // Said even when quiet, as a flaky build is: it passed, but may fail the next run.
    assert.match(written.text(), /base: patched \(2 packages\) \(3\.0s\), flaky: passed on attempt 2/);
  });
});
