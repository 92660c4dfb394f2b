import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { loadConfigFor } from '../workspace.js';
import { redactSecrets } from '../../config/redact.js';
import { loadSecrets } from '../../config/secrets.js';
import type { GlobalOptions } from '../options.js';

export function configCommand(globals: () => GlobalOptions): CommandUnknownOpts {
  const config = new Command('config').description('Inspect the configuration');
  config.addCommand(
    new Command('show')
      .description('Print the effective configuration (base, environment, variables, flags) with every secret redacted')
      .action(() => {
        const global = globals();
        const loaded = loadConfigFor(global);
        const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
        const effective = {
          ...loaded.config,
          images_dirs: loaded.imagesDirs,
          secrets:
            loaded.secretsFile === undefined ? null : { file: loaded.secretsFile, values: redactSecrets(secrets) },
        };
        const shown = redactSecrets(effective);
        if (global.json) {
          process.stdout.write(
            `${JSON.stringify({ files: loaded.files, environment: loaded.environment ?? null, config: shown }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `# files: ${loaded.files.join(', ')}\n${loaded.environment ? `# environment: ${loaded.environment}\n` : ''}${stringify(shown)}`,
        );
      }),
  );
  return config;
}
