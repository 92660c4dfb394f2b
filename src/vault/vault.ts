import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The Ansible Vault 1.1 / 1.2 AES256 format: PBKDF2-SHA256 keys, AES-256-CTR, HMAC-SHA256. */
export const VAULT_HEADER = '$ANSIBLE_VAULT';
const ITERATIONS = 10_000;
const LINE_WIDTH = 80;

export class VaultError extends Error {
  constructor(
    readonly reason: 'not-a-vault' | 'malformed' | 'wrong-password',
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export const isVaultText = (text: string): boolean => text.trimStart().startsWith(`${VAULT_HEADER};`);

interface DerivedKeys {
  cipherKey: Buffer;
  hmacKey: Buffer;
  iv: Buffer;
}

function deriveKeys(password: string, salt: Buffer): DerivedKeys {
  const material = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 80, 'sha256');
  return { cipherKey: material.subarray(0, 32), hmacKey: material.subarray(32, 64), iv: material.subarray(64, 80) };
}

/** PKCS#7 to the AES block size, as Ansible pads before its CTR encryption. */
function pad(data: Buffer): Buffer {
  const length = 16 - (data.length % 16);
  return Buffer.concat([data, Buffer.alloc(length, length)]);
}

function unpad(data: Buffer): Buffer {
  const length = data.at(-1) ?? 0;
  if (length < 1 || length > 16 || length > data.length)
    throw new VaultError('malformed', 'bad padding after decryption');
  return data.subarray(0, data.length - length);
}

export function encryptVault(plaintext: Buffer | string, password: string, vaultId?: string): string {
  const salt = randomBytes(32);
  const keys = deriveKeys(password, salt);
  const cipher = createCipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(pad(Buffer.from(plaintext))), cipher.final()]);
  const mac = createHmac('sha256', keys.hmacKey).update(ciphertext).digest('hex');
  const inner = [salt.toString('hex'), mac, ciphertext.toString('hex')].join('\n');
  const body = Buffer.from(inner, 'utf8').toString('hex');
  const header = vaultId === undefined ? `${VAULT_HEADER};1.1;AES256` : `${VAULT_HEADER};1.2;AES256;${vaultId}`;
  const lines = body.match(new RegExp(`.{1,${LINE_WIDTH}}`, 'g')) ?? [];
  return `${header}\n${lines.join('\n')}\n`;
}

export interface VaultEnvelope {
  version: '1.1' | '1.2';
  vaultId: string | undefined;
}

export function readEnvelope(text: string): VaultEnvelope & { body: string } {
  const lines = text.trim().split(/\r?\n/);
  const header = (lines.shift() ?? '').trim().split(';');
  if (header[0] !== VAULT_HEADER)
    throw new VaultError('not-a-vault', 'not an Ansible Vault file (no $ANSIBLE_VAULT header)');
  const version = header[1];
  if ((version !== '1.1' && version !== '1.2') || header[2] !== 'AES256')
    throw new VaultError(
      'malformed',
      `unsupported vault format ${header.slice(1, 3).join(';')} (1.1 and 1.2 with AES256 are supported)`,
    );
  return {
    version,
    vaultId: version === '1.2' ? header[3] : undefined,
    body: lines.map((line) => line.trim()).join(''),
  };
}

export function decryptVault(text: string, password: string): Buffer {
  const { body } = readEnvelope(text);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(body)) throw new VaultError('malformed', 'the vault body is not hexadecimal');
  const parts = Buffer.from(body, 'hex').toString('utf8').split('\n');
  const [saltHex, macHex, ciphertextHex] = parts;
  if (
    parts.length !== 3 ||
    !saltHex ||
    !macHex ||
    !ciphertextHex ||
    !/^[0-9a-f]+$/i.test(saltHex + macHex + ciphertextHex)
  ) {
    throw new VaultError('malformed', 'the vault body does not hold salt, HMAC and ciphertext');
  }
  const keys = deriveKeys(password, Buffer.from(saltHex, 'hex'));
  const ciphertext = Buffer.from(ciphertextHex, 'hex');
  const expected = createHmac('sha256', keys.hmacKey).update(ciphertext).digest();
  const given = Buffer.from(macHex, 'hex');
  // Checked before decrypting, in constant time: a wrong password and a changed file look the same.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new VaultError('wrong-password', 'wrong vault password, or the file was changed (HMAC mismatch)');
  }
  const decipher = createDecipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  return unpad(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}
