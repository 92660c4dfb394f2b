import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { InterruptedError, UsageError } from '../util/errors.js';
import { checkOutputFile } from '../util/output-path.js';
import { MiB, readInputBytes } from '../util/read-input.js';
import { followLinks, replaceFile, type ReplaceOptions } from '../util/replace-file.js';
import { requireEncryptionPassword, requireVaultPassword, resolveVaultPassword } from '../vault/password.js';
import { decryptVault, encryptVault, isVaultText, readEnvelope, VaultError } from '../vault/vault.js';

export const NEW_PASSWORD_VARIABLE = 'CI_BUILDER_NEW_VAULT_PASSWORD';

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

/** One vault command on one file (`-`: stdin); `passwordFile` is --vault-password-file. */
export interface VaultFileRequest {
  file: string;
  passwordFile?: string;
  stdin: Readable;
  signal: AbortSignal;
}

/** Where a command's result goes: a file replaced, or bytes for stdout (`--output -`). */
export type VaultOutput = { to: 'file'; path: string } | { to: 'stdout'; data: string | Buffer };

export async function encryptFile(
  request: VaultFileRequest & { output?: string; vaultId?: string },
): Promise<VaultOutput> {
  const { file } = request;
  checkVaultId(request.vaultId);
  const target = outputOf(file, request.output, 'encrypt');
  const plaintext = await readInput(request);
  if (isVaultText(plaintext.toString('utf8'))) throw new UsageError(`${file}: already vault-encrypted`);
  const password = requireEncryptionPassword(request.passwordFile, file === '-' ? 'stdin' : file);
  return writeOutput(target, encryptVault(plaintext, password, request.vaultId), ENCRYPTING);
}

export async function decryptFile(request: VaultFileRequest & { output?: string }): Promise<VaultOutput> {
  const target = outputOf(request.file, request.output, 'decrypt');
  const text = vaultText(request.file, await readInput(request));
  return writeOutput(target, decryptText(request, text), DECRYPTING);
}

/** The decrypted content, for stdout. */
export async function viewFile(request: VaultFileRequest): Promise<Buffer> {
  return decryptText(request, vaultText(request.file, await readInput(request)));
}

/** Re-encrypted with the new password (--new-vault-password-file or its variable), keeping the vault id. */
export async function rekeyFile(
  request: VaultFileRequest & { newPasswordFile?: string; env: NodeJS.ProcessEnv },
): Promise<VaultOutput> {
  const { file } = request;
  const target = outputOf(file, undefined, 'rekey');
  const text = vaultText(file, await readInput(request));
  const newPassword = resolveVaultPassword(request.newPasswordFile, request.env, NEW_PASSWORD_VARIABLE);
  if (newPassword === undefined)
    throw new UsageError(`rekey needs the new password: --new-vault-password-file FILE or $${NEW_PASSWORD_VARIABLE}`);
  const plaintext = decryptText(request, text);
  return writeOutput(target, encryptVault(plaintext, newPassword, readEnvelope(text).vaultId), REKEYING);
}

/** A value read from stdin as a `NAME: !vault |` YAML entry. */
export async function encryptString(
  request: Omit<VaultFileRequest, 'file'> & { name: string; vaultId?: string },
): Promise<string> {
  checkVaultId(request.vaultId);
  const password = requireEncryptionPassword(request.passwordFile, 'the value');
  const value = (await readInput({ ...request, file: '-' })).toString('utf8').replace(/\n$/, '');
  const lines = encryptVault(value, password, request.vaultId).trimEnd().split('\n');
  return `${request.name}: !vault |\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
}

/**
 * A file's bytes (never blocking on a FIFO or a device), or stdin's for `-`: read as a stream, so
 * that a signal is heard while nothing has been written to it yet.
 */
async function readInput({ file, stdin, signal }: VaultFileRequest): Promise<Buffer> {
  if (file !== '-') return readInputBytes(file, VAULT_INPUT);
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = () => stdin.destroy();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of stdin) {
      size += (chunk as Buffer).length;
      if (size > VAULT_INPUT.maxBytes) throw new UsageError(`stdin: more than the 64 MiB a vault input may be`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (signal.aborted) throw new InterruptedError();
    if (error instanceof UsageError) throw error;
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
function decryptText({ file, passwordFile }: VaultFileRequest, text: string): Buffer {
  const password = requireVaultPassword(passwordFile, file);
  try {
    return decryptVault(text, password);
  } catch (error) {
    if (error instanceof VaultError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

async function writeOutput(target: string, data: string | Buffer, how: ReplaceOptions): Promise<VaultOutput> {
  if (target === '-') return { to: 'stdout', data };
  await replaceFile(target, target, data, how);
  return { to: 'file', path: target };
}
