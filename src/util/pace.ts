import { setImmediate as nextTurn } from 'node:timers/promises';
import { InterruptedError } from './errors.js';

/** Longest stretch of work between two turns of the event loop: short next to the 2 s an interrupt may take. */
const TURN_EVERY_MS = 25;

/**
 * Keeps a loop over data someone else sized (a run of 300,000 images, an OSV dump, a layer's entries)
 * interruptible: a signal handler, a timer or a stream only runs when the event loop turns, and a loop
 * that awaits nothing but its own work never lets it. Every few milliseconds a step gives the event loop
 * a turn (costing nothing in between), and an aborted signal stops the loop with InterruptedError. The
 * steps are counted, so the work can be seen to grow with the input.
 */
export class Pace {
  steps = 0;
  private turned = performance.now();

  constructor(private readonly signal?: AbortSignal) {}

  /** One step of the loop: a turn of the event loop when the last was long enough ago, and a look at the signal. */
  async step(): Promise<void> {
    this.steps++;
    this.check();
    if (performance.now() - this.turned < TURN_EVERY_MS) return;
    await nextTurn();
    this.turned = performance.now();
    this.check();
  }

  /** Between stages: stop here if the signal was aborted. */
  check(): void {
    if (this.signal?.aborted) throw new InterruptedError();
  }
}

/** A Pace's step, for loops that only need to await it. */
export function pacer(signal: AbortSignal | undefined): () => Promise<void> {
  const pace = new Pace(signal);
  return () => pace.step();
}
