import { setImmediate as nextTurn } from 'node:timers/promises';

/** Steps a long loop takes between two turns of the event loop: rare enough to cost nothing. */
const STEPS_PER_TURN = 4096;

/**
 * Keeps a loop over input-sized data (a run of 300,000 images) interruptible: every so many
 * steps the event loop gets a turn, where a SIGTERM handler aborts the signal, and an aborted
 * signal stops the loop. A synchronous loop would hold the process past any signal. The steps
 * are counted, so the work can be seen to grow with the input.
 */
export class Pace {
  steps = 0;

  constructor(private readonly signal?: AbortSignal) {}

  /** One step of the loop; every STEPS_PER_TURN steps, a turn of the event loop and a look at the signal. */
  async step(): Promise<void> {
    if (++this.steps % STEPS_PER_TURN !== 0) return;
    await nextTurn();
    this.signal?.throwIfAborted();
  }

  /** Between stages: stop here if the signal was aborted. */
  check(): void {
    this.signal?.throwIfAborted();
  }
}
