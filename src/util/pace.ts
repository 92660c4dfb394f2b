import { InterruptedError } from './errors.js';

/** Longest stretch of work between two turns of the event loop: short next to the 2 s an interrupt may take. */
const TURN_EVERY_MS = 25;

/**
 * For loops over data someone else sized: a signal handler, a timer or a stream only runs when the
 * event loop turns, and a loop that awaits nothing but its own work never lets it. Awaiting the
 * returned function in such a loop turns the loop every few milliseconds (costing nothing in between)
 * and throws InterruptedError once `signal` is aborted.
 */
export function pacer(signal: AbortSignal | undefined): () => Promise<void> {
  let turned = performance.now();
  return async () => {
    if (signal?.aborted) throw new InterruptedError();
    if (performance.now() - turned < TURN_EVERY_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    turned = performance.now();
    if (signal?.aborted) throw new InterruptedError();
  };
}
