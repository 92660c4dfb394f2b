import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFor } from '../workspace.js';
import { loadSecrets } from '../../config/secrets.js';
import { createEngine } from '../../engine/index.js';
import { UsageError } from '../../util/errors.js';
import { ImageLayoutError } from '../../util/oci-layout.js';
import { credentialNeedles, findSecretsInOciLayout } from '../../verify/no-secrets.js';
import type { GlobalOptions } from '../options.js';

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
      const loaded = loadConfigFor(global, { engine: options.engine });
      const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
      const needles = credentialNeedles(secrets);
      if (needles.length === 0)
        throw new UsageError(
          `no credentials in the secrets file (${loaded.secretsFile ?? 'none configured'}): nothing to look for`,
        );
      const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
      const report: Array<{ image: string; clean: boolean; findings: Array<{ where: string; form: string }> }> = [];
      for (const image of images) {
        const dir = await mkdtemp(join(tmpdir(), 'ci-builder-verify-'));
        try {
          const exported = await engine.exportOci(image, join(dir, 'layout'));
          if (!exported.ok) throw new UsageError(`${image}: cannot read the image: ${exported.failure.message}`);
          const findings = await findSecretsInOciLayout(join(dir, 'layout'), needles).catch((error: unknown) => {
            throw error instanceof ImageLayoutError ? new UsageError(`${image}: ${error.message}`) : error;
          });
          report.push({ image, clean: findings.length === 0, findings });
          if (!global.json) {
            process.stdout.write(
              findings.length === 0
                ? `${image}: clean\n`
                : findings.map((finding) => `${image}: FOUND ${finding.form} in ${finding.where}\n`).join(''),
            );
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      if (global.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      setExitCode(report.every((entry) => entry.clean) ? 0 : 1);
    });
}
