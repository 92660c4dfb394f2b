/** How much of the end of a worker's stderr is kept: the reason it died is written last. */
export const CRASH_TAIL_CHARS = 8192;

/** The longest reason said: one line, whatever the process wrote. */
const REASON_CHARS = 300;

/** An uncaught error's `Name: message`, a failed native assertion, a fatal V8 error (the heap ran out). */
const REASON_LINE = /^(?:(?:[A-Z]\w*)?(?:Error|Exception)\b|Assertion failed|FATAL ERROR)/;
/** What Node writes before it aborts on a system call that failed: `node[1234]: pthread_create: …`. */
const ABORT_LINE = /^(?:\S*\/)?node\[\d+\]: (.+)$/;

/**
 * Pure: the one line of a Node process's stderr that says why it died, or undefined. Stack
 * frames, and the source line Node prints above an uncaught error, are left out; a line naming
 * only where Node aborted is the last resort.
 */
export function crashReason(stderr: string): string | undefined {
  // Native messages are indented and marked: `  #  Assertion failed: …`.
  const lines = stderr.split('\n').map((line) => line.replace(/^[\s#]+/, '').trimEnd());
  const reason =
    lines.find((line) => REASON_LINE.test(line)) ??
    lines.map((line) => ABORT_LINE.exec(line)?.[1]).find((line) => line !== undefined);
  if (reason === undefined) return undefined;
  return reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}…` : reason;
}
