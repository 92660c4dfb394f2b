import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { RunEvent, RunEventInput } from '../../src/report/events.js';
import { LiveReporter, progressBar } from '../../src/report/live.js';

/** A terminal stand-in that keeps what was written and can replay the cursor moves into a screen. */
class FakeTerminal extends Writable {
  columns = 120;
  isTTY = true;
  written = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.written += chunk.toString();
    done();
  }

  /** The visible lines after applying "cursor up N" and "clear to end of screen". */
  screen(): string[] {
    const lines: string[] = [''];
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is parsed
    const text = this.written.replace(/\x1b\[\?25[lh]/g, '');
    for (let index = 0; index < text.length; index++) {
      // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is parsed
      const match = /^\x1b\[(\d+)A\r\x1b\[0J/.exec(text.slice(index));
      if (match) {
        lines.splice(lines.length - 1 - Number(match[1]), Number(match[1]) + 1, '');
        index += match[0].length - 1;
      } else if (text[index] === '\n') lines.push('');
      else lines[lines.length - 1] = `${lines.at(-1) ?? ''}${text[index] ?? ''}`;
    }
    return lines.filter((line) => line !== '');
  }
}

const event = (input: RunEventInput): RunEvent => ({ at: '2026-11-25T10:00:00.000Z', ...input });

describe('the live terminal view', () => {
  it('keeps one line per running image, a counter and a bar at the bottom; finished images scroll above', async () => {
    const terminal = new FakeTerminal();
    let clock = 0;
    const live = new LiveReporter(terminal, () => clock, 60_000);
    live.handle(
      event({
        type: 'run',
        reason: 'started',
        tag: 't',
        distro: 'debian',
        engine: 'buildah',
        runDir: '/runs/t',
        images: ['base', 'a', 'b', 'c'],
      }),
    );
    live.handle(event({ type: 'image', reason: 'started', name: 'base', attempt: 1 }));
    clock = 5000;
    live.handle(event({ type: 'image', reason: 'built', name: 'base', imageId: 'x', seconds: 5 }));
    live.handle(event({ type: 'image', reason: 'started', name: 'a', attempt: 1 }));
    live.handle(event({ type: 'image', reason: 'started', name: 'b', attempt: 1 }));
    clock = 17_000;
    live.handle(event({ type: 'push', reason: 'started', name: 'base', reference: 'r/base:t', attempt: 1 }));

    const screen = terminal.screen();
    assert.match(screen[0] ?? '', /run t: 4 image\(s\)/);
    assert.match(screen[1] ?? '', /✓ base built \(5\.0s\)/);
    assert.match(screen[2] ?? '', /^ {2}⋯ a +building +12s$/);
    assert.match(screen[3] ?? '', /^ {2}⋯ b +building +12s$/);
    assert.match(screen[4] ?? '', /^ {2}↑ base +pushing +0s$/);
    assert.match(screen[5] ?? '', /^\[#{8}-{22}\] 1\/4 {2}done 1 · failed 0 · skipped 0 · remaining 3/);
    assert.equal(screen.length, 6, 'the block was redrawn in place, not appended');

    live.handle(event({ type: 'image', reason: 'failed', name: 'a', status: 'error', message: 'exit 1', attempts: 1 }));
    live.handle(
      event({
        type: 'image',
        reason: 'failed',
        name: 'c',
        status: 'parent_error',
        message: 'parent a failed',
        attempts: 0,
      }),
    );
    live.handle(
      event({ type: 'push', reason: 'pushed', name: 'base', reference: 'r/base:t', seconds: 1, attempts: 1 }),
    );
    await live.close();
    const end = terminal.screen();
    const scrolled = end.slice(2, 5).map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''));
    assert.deepEqual(scrolled, [
      '✗ a error: exit 1',
      '- c not built (parent_error: parent a failed)',
      '↑ base pushed (1.0s)',
    ]);
    assert.equal(end.length, 6, 'no running lines are left after close');
    assert.match(end.at(-1) ?? '', /3\/4 {2}done 1 · failed 2 · skipped 0 · remaining 1/);
    assert.ok(terminal.written.endsWith('\x1b[?25h'), 'the cursor is shown again');
  });

  it('says a retry as it happens, the attempt on the running line, and an image that passed on a retry flaky', async () => {
    const terminal = new FakeTerminal();
    let clock = 0;
    const live = new LiveReporter(terminal, () => clock, 60_000);
    live.handle(
      event({
        type: 'run',
        reason: 'started',
        tag: 't',
        distro: 'debian',
        engine: 'buildah',
        runDir: '/r',
        images: ['h'],
      }),
    );
    live.handle(event({ type: 'image', reason: 'started', name: 'h', attempt: 1 }));
    clock = 30_000;
    live.handle(event({ type: 'image', reason: 'retrying', name: 'h', attempt: 2, message: 'RUN apt-get: exit 1' }));
    live.handle(event({ type: 'image', reason: 'started', name: 'h', attempt: 2 }));
    clock = 45_000;
    live.handle(event({ type: 'warning', message: 'redraw' }));
    const during = terminal.screen();
    assert.ok(during.some((line) => line.endsWith('↻ h retrying (attempt 2) after: RUN apt-get: exit 1')));
    assert.ok(
      during.some((line) => /^ {2}⋯ h +building +45s {2}attempt 2$/.test(line)),
      during.join('\n'),
    );
    live.handle(event({ type: 'image', reason: 'built', name: 'h', imageId: 'x', seconds: 15 }));
    await live.close();
    const end = terminal.screen();
    assert.ok(end.some((line) => line.endsWith('✓ h built (15.0s), flaky: passed on attempt 2')));
    assert.match(end.at(-1) ?? '', /1\/1 {2}done 1 \(flaky 1\) · failed 0/);
  });

  it('cuts lines to the terminal width so redraws stay aligned', async () => {
    const terminal = new FakeTerminal();
    terminal.columns = 40;
    const live = new LiveReporter(terminal, () => 0, 60_000);
    live.handle(event({ type: 'warning', message: 'x'.repeat(200) }));
    assert.ok(terminal.screen().every((line) => line.length < 40));
    await live.close();
  });

  it('draws bars in proportion', () => {
    assert.equal(progressBar(0, 4), '[----]');
    assert.equal(progressBar(0.5, 4), '[##--]');
    assert.equal(progressBar(1, 4), '[####]');
  });
});

describe('the live view of a run spread over builders', () => {
  const started = (builders?: string[]) =>
    event({
      type: 'run',
      reason: 'started',
      tag: 't',
      distro: 'debian',
      engine: 'docker',
      runDir: '/runs/t',
      images: ['a', 'b'],
      ...(builders ? { builders } : {}),
    });

  it('names the builder of each running and finished image, and the lost builder', async () => {
    const terminal = new FakeTerminal();
    const live = new LiveReporter(terminal, () => 0, 60_000);
    live.handle(started(['tcp://a:2375', 'tcp://b:2375']));
    live.handle(event({ type: 'image', reason: 'started', name: 'a', attempt: 1, builder: 'tcp://a:2375' }));
    live.handle(event({ type: 'image', reason: 'started', name: 'b', attempt: 1, builder: 'tcp://b:2375' }));
    assert.ok(terminal.screen().some((line) => /⋯ b +building +0s {2}on tcp:\/\/b:2375/.test(line)));
    const message = 'builder tcp://b:2375 lost: docker build failed';
    live.handle(event({ type: 'warning', message, lostBuilder: 'tcp://b:2375' }));
    live.handle(
      event({ type: 'image', reason: 'built', name: 'a', imageId: 'x', seconds: 3, builder: 'tcp://a:2375' }),
    );
    await live.close();
    const screen = terminal.screen();
    assert.ok(
      screen.some((line) => line.includes('✓ a built on tcp://a:2375 (3.0s)')),
      screen.join('\n'),
    );
    assert.ok(screen.some((line) => line.includes('warning: builder tcp://b:2375 lost')));
    assert.ok(screen.some((line) => line.includes('· 2 builders')));
  });

  it('shows no builder on a one-builder run', async () => {
    const terminal = new FakeTerminal();
    const live = new LiveReporter(terminal, () => 0, 60_000);
    live.handle(started());
    live.handle(event({ type: 'image', reason: 'started', name: 'a', attempt: 1 }));
    live.handle(event({ type: 'image', reason: 'built', name: 'a', imageId: 'x', seconds: 3 }));
    await live.close();
    assert.ok(terminal.screen().some((line) => line.endsWith('✓ a built (3.0s)')));
    assert.ok(!terminal.written.includes(' on '));
  });
});
