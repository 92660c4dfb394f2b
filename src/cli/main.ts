#!/usr/bin/env node
import { ConfigError, InterruptedError, UsageError, WorkFailedError, errorMessage } from '../util/errors.js';
import { stopDeadlineMs } from './stop-deadline.js';

/** Wires signals and exit codes: 0 good, 1 work failed, 2 bad input, 130 interrupted. */
async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  // A function, not the property: the signal handler aborts between any two awaits below.
  const interrupted = () => controller.signal.aborted;
  let command: string | undefined;
  let exitCode = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted()) process.exit(130);
    process.stderr.write(`\n${signal}: stopping (again to quit at once)\n`);
    controller.abort();
    const deadline = stopDeadlineMs(command);
    // The last resort: whatever the command still awaits, the process ends (unref: it never keeps it alive).
    setTimeout(() => {
      process.stderr.write(`ci-builder: still stopping after ${deadline / 1000} s: exiting\n`);
      process.exit(130);
    }, deadline).unref();
  };
  // Before the program's modules load (a second or more on a busy host), so a signal then is heard too.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { CommanderError, createProgram } = await import('./program.js');
  if (interrupted()) return 130;
  const program = createProgram(controller.signal, (code) => (exitCode = code));
  program.hook('preAction', (root, action) => {
    let top = action;
    while (top.parent && top.parent !== root) top = top.parent;
    command = top.name();
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
        ? 0
        : 2;
    }
    // Work given up because of the signal: the signal's line said it all.
    if (error instanceof InterruptedError || (interrupted() && isAbortError(error))) return 130;
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof WorkFailedError) {
      process.stderr.write(`ci-builder: error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`ci-builder: internal error: ${errorMessage(error)}\n`);
    if (process.env.CI_BUILDER_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return interrupted() ? 130 : 1;
  }
  return interrupted() ? 130 : exitCode;
}

/** What an aborted fetch, stream or timer rejects with. */
function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'InterruptedError');
}

const code = await main(process.argv);
// Interrupted, the command has stopped what it started: a handle left open (a stalled download's
// socket, stdin) must not keep the process. Writes to pipes, files and terminals are synchronous here.
if (code === 130) process.exit(130);
process.exitCode = code;
