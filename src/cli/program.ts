import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { buildCommand } from './commands/build.js';
import { configCommand } from './commands/config.js';
import { doctorCommand } from './commands/doctor.js';
import { imagesCommand } from './commands/images.js';
import { kollaBuildCommand } from './commands/kolla-build.js';
import { pipelineCommand } from './commands/pipeline.js';
import { proxyCommand } from './commands/proxy.js';
import { scanCommand } from './commands/scan.js';
import { shardCommand } from './commands/shard.js';
import { summaryCommand } from './commands/summary.js';
import { tagsCommand } from './commands/tags.js';
import { vaultCommand } from './commands/vault.js';
import { verifyNoSecretsCommand } from './commands/verify.js';
import type { GlobalOptions } from './options.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function createProgram(signal: AbortSignal, setExitCode: (code: number) => void): Command {
  const program = new Command('ci-builder')
    .description(
      'Build, push and roll out the container images of an OpenStack cloud from Kolla-format image trees, against pinned package repositories.',
    )
    .version(version)
    .option(
      '--config <dir>',
      'configuration folder (default: $CI_BUILDER_CONFIG, ./etc/ci-builder, or the bundled example)',
    )
    .option('--environment <name>', 'overlay environments/<name>/config.yml (default: $CI_BUILDER_ENVIRONMENT)')
    .option(
      '--vault-password-file <file>',
      'file holding the Ansible Vault password (default: $CI_BUILDER_VAULT_PASSWORD)',
    )
    .option('--json', 'machine-readable output on stdout')
    .addOption(new Option('-v, --verbose', 'more detail, build output included').conflicts('quiet'))
    .addOption(new Option('-q, --quiet', 'only warnings, failures and the final line'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = (): GlobalOptions => program.opts();
  for (const command of [
    buildCommand(globals, signal, setExitCode),
    imagesCommand(globals, setExitCode),
    kollaBuildCommand(globals, signal, setExitCode),
    proxyCommand(globals, signal),
    scanCommand(globals, signal, setExitCode),
    pipelineCommand(globals, signal, setExitCode),
    verifyNoSecretsCommand(globals, setExitCode),
    vaultCommand(globals, signal),
    configCommand(globals),
    doctorCommand(globals, setExitCode),
    tagsCommand(globals, signal, setExitCode),
    shardCommand(globals),
    summaryCommand(globals, signal),
  ]) {
    program.addCommand(command.exitOverride());
  }
  for (const command of program.commands) for (const sub of command.commands) sub.exitOverride();
  return program;
}

export { CommanderError };
