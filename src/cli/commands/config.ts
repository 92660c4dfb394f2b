import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { effectiveConfig } from '../../app/config.js';
import type { GlobalOptions } from '../options.js';
import { loadConfigFor } from '../workspace.js';

export function configCommand(globals: () => GlobalOptions): CommandUnknownOpts {
  const config = new Command('config').description('Inspect the configuration');
  config.addCommand(
    new Command('show')
      .description('Print the effective configuration (base, environment, variables, flags) with every secret redacted')
      .action(() => {
        const global = globals();
        const shown = effectiveConfig(loadConfigFor(global));
        if (global.json) return void process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        const environment = shown.environment ? `# environment: ${shown.environment}\n` : '';
        process.stdout.write(`# files: ${shown.files.join(', ')}\n${environment}${stringify(shown.config)}`);
      }),
  );
  return config;
}
