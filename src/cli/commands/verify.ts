import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { verifyNoSecrets, type ImageSecrets } from '../../app/verify.js';
import type { GlobalOptions } from '../options.js';
import { loadConfigFor } from '../workspace.js';

function describeFindings({ image, findings }: ImageSecrets): string {
  if (findings.length === 0) return `${image}: clean\n`;
  return findings.map((finding) => `${image}: FOUND ${finding.form} in ${finding.where}\n`).join('');
}

export function verifyNoSecretsCommand(
  globals: () => GlobalOptions,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  return new Command('verify-no-secrets')
    .description(
      'Search every layer, the config and the history of images for the configured credentials (plain, base64, user:password)',
    )
    .argument('<image...>', 'image references in the engine')
    .option('--engine <engine>', 'buildah, docker or podman (default: from the config)')
    .addHelpText(
      'after',
      '\nExit status: 0 no credential found; 1 a credential was found (where, and in which form, is printed; never the value); 2 bad input.',
    )
    .action(async (images, options) => {
      const global = globals();
      const loaded = loadConfigFor(global, options.engine);
      const report = await verifyNoSecrets(loaded, images, (verdict) => {
        if (!global.json) process.stdout.write(describeFindings(verdict));
      });
      if (global.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      setExitCode(report.every((entry) => entry.clean) ? 0 : 1);
    });
}
