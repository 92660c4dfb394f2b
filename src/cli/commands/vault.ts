import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UsageError } from '../../util/errors.js';
import { requireVaultPassword, resolveVaultPassword } from '../../vault/password.js';
import { decryptVault, encryptVault, isVaultText, readEnvelope, VaultError } from '../../vault/vault.js';
import type { GlobalOptions } from '../options.js';

const NEW_PASSWORD_VARIABLE = 'CI_BUILDER_NEW_VAULT_PASSWORD';

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Decrypts, turning vault failures into one line naming the file; nothing is written on failure. */
function decryptFile(file: string, text: string, password: string): Buffer {
  try {
    return decryptVault(text, password);
  } catch (error) {
    if (error instanceof VaultError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

/** In place (keeping the file's mode), to another file, or to stdout with `-`. */
async function writeOutput(target: string, data: string | Buffer, modeFrom: string): Promise<void> {
  if (target === '-') {
    process.stdout.write(data);
    return;
  }
  let mode = 0o600;
  try {
    mode = statSync(modeFrom).mode & 0o777;
  } catch {
    // A new file from stdin: private by default.
  }
  await writeFileAtomic(target, data, mode);
}

export function vaultCommand(globals: () => GlobalOptions): CommandUnknownOpts {
  const vault = new Command('vault').description('Ansible Vault (1.1 and 1.2) files and values, compatible with ansible-vault').addHelpText(
    'after',
    '\nThe password comes from --vault-password-file FILE or $CI_BUILDER_VAULT_PASSWORD, never from a flag value.\nrekey takes the new one from --new-vault-password-file FILE or $CI_BUILDER_NEW_VAULT_PASSWORD.',
  );
  const password = (what: string) => requireVaultPassword(globals().vaultPasswordFile, what);

  vault.addCommand(
    new Command('encrypt')
      .description('Encrypt a file in place (or to --output)')
      .argument('<file>', 'file to encrypt, - for stdin')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => {
        const text = readInput(file);
        if (isVaultText(text)) throw new UsageError(`${file}: already vault-encrypted`);
        if (options.vaultId !== undefined && !/^[A-Za-z0-9_.@-]+$/.test(options.vaultId)) throw new UsageError(`invalid --vault-id ${JSON.stringify(options.vaultId)}`);
        await writeOutput(options.output ?? (file === '-' ? '-' : file), encryptVault(text, password(file), options.vaultId), file);
      }),
  );
  vault.addCommand(
    new Command('decrypt')
      .description('Decrypt a vault file in place (or to --output)')
      .argument('<file>', 'vault file, - for stdin')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => {
        const text = readInput(file);
        await writeOutput(options.output ?? (file === '-' ? '-' : file), decryptFile(file, text, password(file)), file);
      }),
  );
  vault.addCommand(
    new Command('view')
      .description('Print the decrypted content of a vault file')
      .argument('<file>', 'vault file')
      .action((file) => {
        process.stdout.write(decryptFile(file, readInput(file), password(file)));
      }),
  );
  vault.addCommand(
    new Command('rekey')
      .description('Re-encrypt a vault file with a new password, keeping its vault id')
      .argument('<file>', 'vault file')
      .option('--new-vault-password-file <file>', `file holding the new password (default: $${NEW_PASSWORD_VARIABLE})`)
      .action(async (file, options) => {
        const text = readInput(file);
        const newPassword = resolveVaultPassword(options.newVaultPasswordFile, process.env, NEW_PASSWORD_VARIABLE);
        if (newPassword === undefined) throw new UsageError(`rekey needs the new password: --new-vault-password-file FILE or $${NEW_PASSWORD_VARIABLE}`);
        const plaintext = decryptFile(file, text, password(file));
        await writeOutput(file, encryptVault(plaintext, newPassword, readEnvelope(text).vaultId), file);
      }),
  );
  vault.addCommand(
    new Command('encrypt-string')
      .description('Encrypt a value read from stdin into a `NAME: !vault |` YAML entry')
      .requiredOption('--name <name>', 'the YAML key to print')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .action((options) => {
        const value = readInput('-').replace(/\n$/, '');
        const encrypted = encryptVault(value, password('the value'), options.vaultId);
        process.stdout.write(`${options.name}: !vault |\n${encrypted.trimEnd().split('\n').map((line) => `  ${line}`).join('\n')}\n`);
      }),
  );
  return vault;
}
