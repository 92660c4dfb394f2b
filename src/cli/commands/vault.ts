import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import {
  decryptFile,
  encryptFile,
  encryptString,
  NEW_PASSWORD_VARIABLE,
  rekeyFile,
  viewFile,
  type VaultOutput,
} from '../../app/vault.js';
import type { GlobalOptions } from '../options.js';

/** `--output -` asked for the result on stdout; a file was replaced otherwise. */
function printOutput(output: VaultOutput): void {
  if (output.to === 'stdout') process.stdout.write(output.data);
}

export function vaultCommand(globals: () => GlobalOptions, signal: AbortSignal): CommandUnknownOpts {
  const vault = new Command('vault')
    .description('Ansible Vault (1.1 and 1.2) files and values, compatible with ansible-vault')
    .addHelpText(
      'after',
      '\nThe password comes from --vault-password-file FILE or $CI_BUILDER_VAULT_PASSWORD, never from a flag value.\nrekey takes the new one from --new-vault-password-file FILE or $CI_BUILDER_NEW_VAULT_PASSWORD.',
    );
  /** What every subcommand hands the library: the password file, stdin and the signal. */
  const given = () => ({ passwordFile: globals().vaultPasswordFile, stdin: process.stdin, signal });

  vault.addCommand(
    new Command('encrypt')
      .description('Encrypt a file in place (or to --output)')
      .argument('<file>', 'file to encrypt, - for stdin')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => printOutput(await encryptFile({ ...given(), file, ...options }))),
  );
  vault.addCommand(
    new Command('decrypt')
      .description('Decrypt a vault file in place (or to --output)')
      .argument('<file>', 'vault file, - for stdin')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => printOutput(await decryptFile({ ...given(), file, ...options }))),
  );
  vault.addCommand(
    new Command('view')
      .description('Print the decrypted content of a vault file')
      .argument('<file>', 'vault file')
      .action(async (file) => void process.stdout.write(await viewFile({ ...given(), file }))),
  );
  vault.addCommand(
    new Command('rekey')
      .description('Re-encrypt a vault file with a new password, keeping its vault id')
      .argument('<file>', 'vault file')
      .option('--new-vault-password-file <file>', `file holding the new password (default: $${NEW_PASSWORD_VARIABLE})`)
      .action(async (file, options) => {
        const newPasswordFile = options.newVaultPasswordFile;
        printOutput(await rekeyFile({ ...given(), file, newPasswordFile, env: process.env }));
      }),
  );
  vault.addCommand(
    new Command('encrypt-string')
      .description('Encrypt a value read from stdin into a `NAME: !vault |` YAML entry')
      .requiredOption('--name <name>', 'the YAML key to print')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .action(async (options) => void process.stdout.write(await encryptString({ ...given(), ...options }))),
  );
  return vault;
}
