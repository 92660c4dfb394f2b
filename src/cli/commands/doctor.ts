import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { LoadedConfig } from '../../config/load.js';
import { loadSecrets } from '../../config/secrets.js';
import type { Secrets } from '../../config/secrets-schema.js';
import { failed, formatCheck, ok, type CheckResult } from '../../doctor/check.js';
import { checkRegistry, checkRepositories, checkVaultPassword } from '../../doctor/config-checks.js';
import { checkEngineInstalled } from '../../doctor/engine-checks.js';
import { checkCommand, checkEngineBuilds, checkFreeSpace, checkLocalhost } from '../../doctor/host-checks.js';
import { createEngine, type EngineName } from '../../engine/index.js';
import { errorMessage } from '../../util/errors.js';
import { collectList, parseCount, type GlobalOptions } from '../options.js';
import { chosenDistros } from '../../config/distros.js';
import { loadConfigFor } from '../workspace.js';

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
      const results: CheckResult[] = [];
      const report = (result: CheckResult) => {
        results.push(result);
        if (!global.json) process.stdout.write(`${formatCheck(result)}\n`);
      };

      let loaded: LoadedConfig | undefined;
      let secrets: Secrets = {};
      let unlockError: string | undefined;
      try {
        loaded = loadConfigFor(global, { engine: options.engine });
        report(ok('configuration', loaded.files.join(', ')));
        try {
          secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
        } catch (error) {
          unlockError = errorMessage(error);
        }
      } catch (error) {
        report(failed('configuration', errorMessage(error), 'fix the file and key named'));
      }

      const engineName = (loaded?.config.engine ?? options.engine ?? 'buildah') as EngineName;
      const engineUrl = loaded?.config.engine_url;
      const engine = createEngine(engineName, { url: engineUrl });
      const installed = await checkEngineInstalled(engineName, engineUrl);
      report(installed);
      if (installed.status === 'ok') {
        report(await checkEngineBuilds(engine));
        const storage = await engine.storagePath();
        report(await checkFreeSpace(storage.ok ? storage.value : '/var/lib/containers', options.minFreeGib));
      }
      report(await checkLocalhost());
      if (loaded && Object.values(loaded.config.distros).some((distro) => 'bootstrap' in distro.base_image)) {
        report(
          await checkCommand(
            'mmdebstrap',
            'mmdebstrap',
            ['--version'],
            'apt-get install mmdebstrap (base images are bootstrapped from the repositories)',
          ),
        );
      }
      if (loaded) {
        report(
          checkVaultPassword(
            [...loaded.files, ...(loaded.secretsFile ? [loaded.secretsFile] : [])],
            global.vaultPasswordFile,
            unlockError,
          ),
        );
        report(await checkRegistry(loaded, secrets));
        const distros = options.distro
          ? chosenDistros(loaded.config, options.distro)
          : Object.keys(loaded.config.distros);
        for (const result of await checkRepositories(loaded, secrets, distros)) report(result);
      }
      if (global.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      setExitCode(results.some((result) => result.status === 'fail') ? 1 : 0);
    });
}
