#!/usr/bin/env node
import { ConfigError, UsageError, WorkFailedError, errorMessage } from '../util/errors.js';
import { CommanderError, createProgram } from './program.js';

/** Wires signals and exit codes: 0 good, 1 work failed, 2 bad input, 130 interrupted. */
async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let exitCode = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(
      `\n${signal}: stopping: engines and servers are stopped, summaries written (again to quit at once)\n`,
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const program = createProgram(controller.signal, (code) => (exitCode = code));
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
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof WorkFailedError) {
      process.stderr.write(`ci-builder: error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`ci-builder: internal error: ${errorMessage(error)}\n`);
    if (process.env.CI_BUILDER_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return controller.signal.aborted ? 130 : 1;
  }
  return controller.signal.aborted ? 130 : exitCode;
}

process.exitCode = await main(process.argv);
