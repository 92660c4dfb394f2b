/**
 * How long a command may take to stop after the first SIGINT or SIGTERM before the process exits
 * 130 whatever it is waiting for (a FIFO no one writes, a server that never answers): the second
 * signal is not needed to end a command that holds nothing.
 *
 * Runs stop in order instead (engines stopped, build containers removed, the partial summary
 * written): measured on a 2-core host under a load of 13, 0.5 s during a RUN step and 0.6-1.7 s
 * before the engines start; their bound, twenty times the worst of those, only catches a stop that
 * hangs. Every other
 * command releases what it holds (a scan's mount, a temporary folder, the proxy's workers) as soon
 * as the signal aborts its work, well inside the quick bound.
 */
export const QUICK_STOP_MS = 1500;
export const ORDERLY_STOP_MS = 30_000;

/** The commands that start engines and write a run folder. */
const ORDERLY = new Set(['build', 'pipeline', 'kolla-build']);

/** The bound for a top-level command (undefined: none chosen yet, the program is still starting). */
export function stopDeadlineMs(command: string | undefined): number {
  return command !== undefined && ORDERLY.has(command) ? ORDERLY_STOP_MS : QUICK_STOP_MS;
}
