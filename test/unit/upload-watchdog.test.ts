import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryConnectionError } from '../../src/registry/errors.js';
import { withIdleLimit } from '../../src/registry/upload-watchdog.js';

const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
const limits = (idleMs: number, answerMs: number) => ({ idleMs, answerMs, signal: new AbortController().signal });

describe("an upload try's watchdog", () => {
  it('fails a try that stands still for the idle limit, naming the time', async () => {
    // Stands for the request in flight, which is what keeps the process alive meanwhile (the watchdog does not).
    const standingStill = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => {
        const socket = setTimeout(() => reject(new Error('the watchdog never fired')), 5000);
        signal.addEventListener('abort', () => (clearTimeout(socket), reject(new Error('aborted'))));
      });
    await assert.rejects(
      withIdleLimit(limits(50, 1000), standingStill),
      (error: Error) => error instanceof RegistryConnectionError && /no progress for 0\.05 s/.test(error.message),
    );
  });

  it('holds the process with no timer once the try has ended, even when its body is read after the answer', async () => {
    let lateTouch: ((limitMs?: number) => void) | undefined;
    const answer = await withIdleLimit(limits(60_000, 600_000), (_signal, touch) => {
      lateTouch = touch;
      return Promise.resolve('answered');
    });
    assert.equal(answer, 'answered');
    const before = timers();
    // A registry that answers before the body is sent leaves the body's reader to end afterwards.
    lateTouch?.(600_000);
    assert.equal(timers(), before, 'a watchdog set after the try would keep the process alive for ten minutes');
  });
});
