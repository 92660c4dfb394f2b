import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { InterruptedError, UsageError } from '../../util/errors.js';
import { MiB, readInputBytes } from '../../util/read-input.js';
import { checkOutputFile } from '../../util/output-path.js';
import { followLinks, replaceFile, type ReplaceOptions } from '../../util/replace-file.js';
import { requireEncryptionPassword, requireVaultPassword, resolveVaultPassword } from '../../vault/password.js';
import { decryptVault, encryptVault, isVaultText, readEnvelope, VaultError } from '../../vault/vault.js';
import type { GlobalOptions } from '../options.js';

const NEW_PASSWORD_VARIABLE = 'CI_BUILDER_NEW_VAULT_PASSWORD';

/**
 * How each command replaces a file, as ansible-vault does: through symbolic links (the link
 * stays), encrypt and decrypt leave a private 0600 file, rekey keeps mode and owner. A plaintext
 * being encrypted (or an old key's vault) is overwritten where it lies, so no hard link keeps it.
 */
const ENCRYPTING: ReplaceOptions = { overwriteOld: true, keepModeAndOwner: false, mode: 0o600 };
const DECRYPTING: ReplaceOptions = { overwriteOld: false, keepModeAndOwner: false, mode: 0o600 };
const REKEYING: ReplaceOptions = { overwriteOld: true, keepModeAndOwner: true, mode: 0o600 };

/** Vault files hold configuration values: a few KiB, a certificate bundle at most. */
const VAULT_INPUT = { what: 'file', maxBytes: 64 * MiB };

/**
 * A file's bytes (never blocking on a FIFO or a device), or stdin's for `-`: read as a stream, so
 * that a signal is heard while nothing has been written to it yet.
 */
async function readInput(file: string, signal: AbortSignal): Promise<Buffer> {
  if (file !== '-') return readInputBytes(file, VAULT_INPUT);
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = () => process.stdin.destroy();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > VAULT_INPUT.maxBytes) throw new UsageError(`stdin: more than the 64 MiB a vault input may be`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (signal.aborted) throw new InterruptedError();
    throw new UsageError(`stdin: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (signal.aborted) throw new InterruptedError();
  return Buffer.concat(chunks);
}

function checkVaultId(vaultId: string | undefined): void {
  if (vaultId !== undefined && !/^[A-Za-z0-9_.@-]+$/.test(vaultId)) {
    throw new UsageError(`invalid --vault-id ${JSON.stringify(vaultId)}`);
  }
}

/** Where the result goes ('-' is stdout), checked before any work is done. */
function outputOf(file: string, output: string | undefined, command: string): string {
  const target = output ?? file;
  if (target === '-') return target;
  const followed = followLinks(target);
  const shown = followed === resolve(target) ? target : followed;
  checkOutputFile(shown, output === undefined ? `vault ${command}` : '--output');
  return target;
}

/** A vault's text, or one line saying the file is not a vault (before any password is asked for). */
function vaultText(file: string, content: Buffer): string {
  const text = content.toString('utf8');
  try {
    readEnvelope(text);
  } catch (error) {
    if (error instanceof VaultError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  return text;
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

async function writeOutput(target: string, data: string | Buffer, how: ReplaceOptions): Promise<void> {
  if (target === '-') process.stdout.write(data);
  else await replaceFile(target, target, data, how);
}

export function vaultCommand(globals: () => GlobalOptions, signal: AbortSignal): CommandUnknownOpts {
  const vault = new Command('vault')
    .description('Ansible Vault (1.1 and 1.2) files and values, compatible with ansible-vault')
    .addHelpText(
      'after',
      '\nThe password comes from --vault-password-file FILE or $CI_BUILDER_VAULT_PASSWORD, never from a flag value.\nrekey takes the new one from --new-vault-password-file FILE or $CI_BUILDER_NEW_VAULT_PASSWORD.',
    );
  const unlockPassword = (file: string) => requireVaultPassword(globals().vaultPasswordFile, file);
  const encryptionPassword = (what: string) => requireEncryptionPassword(globals().vaultPasswordFile, what);

  vault.addCommand(
    new Command('encrypt')
      .description('Encrypt a file in place (or to --output)')
      .argument('<file>', 'file to encrypt, - for stdin')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => {
        checkVaultId(options.vaultId);
        const target = outputOf(file, options.output, 'encrypt');
        const plaintext = await readInput(file, signal);
        if (isVaultText(plaintext.toString('utf8'))) throw new UsageError(`${file}: already vault-encrypted`);
        const password = encryptionPassword(file === '-' ? 'stdin' : file);
        await writeOutput(target, encryptVault(plaintext, password, options.vaultId), ENCRYPTING);
      }),
  );
  vault.addCommand(
    new Command('decrypt')
      .description('Decrypt a vault file in place (or to --output)')
      .argument('<file>', 'vault file, - for stdin')
      .option('--output <file>', 'write here instead, - for stdout')
      .action(async (file, options) => {
        const target = outputOf(file, options.output, 'decrypt');
        const text = vaultText(file, await readInput(file, signal));
        await writeOutput(target, decryptFile(file, text, unlockPassword(file)), DECRYPTING);
      }),
  );
  vault.addCommand(
    new Command('view')
      .description('Print the decrypted content of a vault file')
      .argument('<file>', 'vault file')
      .action(async (file) => {
        const text = vaultText(file, await readInput(file, signal));
        process.stdout.write(decryptFile(file, text, unlockPassword(file)));
      }),
  );
  vault.addCommand(
    new Command('rekey')
      .description('Re-encrypt a vault file with a new password, keeping its vault id')
      .argument('<file>', 'vault file')
      .option('--new-vault-password-file <file>', `file holding the new password (default: $${NEW_PASSWORD_VARIABLE})`)
      .action(async (file, options) => {
        const target = outputOf(file, undefined, 'rekey');
        const text = vaultText(file, await readInput(file, signal));
        const newPassword = resolveVaultPassword(options.newVaultPasswordFile, process.env, NEW_PASSWORD_VARIABLE);
        if (newPassword === undefined)
          throw new UsageError(
            `rekey needs the new password: --new-vault-password-file FILE or $${NEW_PASSWORD_VARIABLE}`,
          );
        const plaintext = decryptFile(file, text, unlockPassword(file));
        await writeOutput(target, encryptVault(plaintext, newPassword, readEnvelope(text).vaultId), REKEYING);
      }),
  );
  vault.addCommand(
    new Command('encrypt-string')
      .description('Encrypt a value read from stdin into a `NAME: !vault |` YAML entry')
      .requiredOption('--name <name>', 'the YAML key to print')
      .option('--vault-id <id>', 'label the vault with an id (format 1.2)')
      .action(async (options) => {
        checkVaultId(options.vaultId);
        const password = encryptionPassword('the value');
        const value = (await readInput('-', signal)).toString('utf8').replace(/\n$/, '');
        const encrypted = encryptVault(value, password, options.vaultId);
        process.stdout.write(
          `${options.name}: !vault |\n${encrypted
            .trimEnd()
            .split('\n')
            .map((line) => `  ${line}`)
            .join('\n')}\n`,
        );
      }),
  );
  return vault;
}
