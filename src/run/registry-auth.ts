import type { RegistryCredentials } from '../registry/auth.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Secrets } from '../config/secrets-schema.js';
import { credentialNeedles } from '../verify/no-secrets.js';

export interface RegistryAuth {
  /** A docker-format config.json, mode 0600 in a 0700 folder of its own. */
  file: string;
  /** The same login, for ci-builder's own requests to that registry. */
  login: RegistryLogin;
  dispose(): Promise<void>;
}

/**
 * Writes the registry credential where the engines read it from a file, so it is never
 * on a command line (visible to every user in ps) nor in the user's own engine config.
 */
/** A registry's login, with the registry it is for. */
export interface RegistryLogin extends RegistryCredentials {
  registry: string;
}

export async function writeRegistryAuth(
  registry: string,
  username: string,
  password: string,
  tokenHosts: readonly string[] = [],
): Promise<RegistryAuth> {
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-auth-'));
  const file = join(dir, 'config.json');
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [registry]: { auth } } }), { mode: 0o600 });
  const login = { registry, username, password, tokenHosts };
  return { file, login, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Every form of every secret a run knows, for secretScrubber: the credentials of the secrets
 * file, and the vault password that unlocks them (plain and base64).
 */
export function runSecretForms(secrets: Secrets, vaultPassword: string | undefined): string[] {
  const base64 = (text: string) => Buffer.from(text).toString('base64').replace(/=+$/, '');
  const vault = vaultPassword === undefined ? [] : [vaultPassword, base64(vaultPassword)];
  return [...credentialNeedles(secrets).map((needle) => needle.value), ...vault];
}

/** Hides every given form of a secret from a piece of text (too-short forms would hide ordinary text). */
export function secretScrubber(forms: readonly string[]): (text: string) => string {
  const sorted = [...new Set(forms.filter((form) => form.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => {
    let result = text;
    for (const needle of sorted) if (result.includes(needle)) result = result.split(needle).join('***');
    return result;
  };
}

/** Loopback registries speak plain HTTP unless configured otherwise. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry
    .replace(/^\[/, '')
    .replace(/\](:\d+)?$/, '')
    .replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
