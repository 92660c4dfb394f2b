import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { checkHost, formatCheck } from '../../app/doctor.js';
import { collectList, parseCount, type GlobalOptions } from '../options.js';

export function doctorCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void): CommandUnknownOpts {
  return new Command('doctor')
    .description(
      'Check that this host can build: engine, storage, localhost, registry and credentials, repositories, vault password',
    )
    .option('--distro <names>', 'distros whose repositories to check (default: every configured distro)', collectList)
    .option('--engine <engine>', 'buildah, docker or podman (default: from the config)')
    .option('--min-free-gib <n>', 'warn when the engine storage has less free space than this', parseCount, 20)
    .addHelpText('after', '\nOne line per check: ok, warn or fail, and what to do. Exit status 1 when any check fails.')
    .action(async (options) => {
      const global = globals();
      const results = await checkHost({
        config: global,
        engine: options.engine,
        distros: options.distro,
        minFreeGib: options.minFreeGib,
        onWarning: (line) => process.stderr.write(`ci-builder: warning: ${line}\n`),
        onCheck: (result) => global.json || process.stdout.write(`${formatCheck(result)}\n`),
      });
      if (global.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      setExitCode(results.some((result) => result.status === 'fail') ? 1 : 0);
    });
}
