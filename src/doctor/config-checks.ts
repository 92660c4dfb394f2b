import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { LoadedConfig } from '../config/load.js';
import type { Secrets } from '../config/secrets-schema.js';
import type { RepositoryConfig } from '../config/schema.js';
import { proxyFromConfig } from '../proxy/from-config.js';
import { RegistryClient, RegistryError } from '../registry/client.js';
import { isPulpRepository, repositoryUrl, type RepositoryAccess } from '../repos/urls.js';
import { isLoopbackRegistry } from '../run/registry-auth.js';
import { errorMessage } from '../util/errors.js';
import { resolveVaultPassword } from '../vault/password.js';
import { failed, ok, type CheckResult } from './check.js';

/** Whether any config or secrets file holds vault-encrypted content. */
export function usesVault(files: readonly string[]): boolean {
  return files.some((file) => existsSync(file) && /\$ANSIBLE_VAULT;|!vault\b/.test(readFileSync(file, 'utf8')));
}

export function checkVaultPassword(
  files: readonly string[],
  passwordFile: string | undefined,
  unlockError: string | undefined,
): CheckResult {
  const check = 'vault password';
  if (!usesVault(files)) return ok(check, 'not needed (nothing in the configuration is vault-encrypted)');
  if (resolveVaultPassword(passwordFile) === undefined)
    return failed(
      check,
      'the configuration is vault-encrypted and no password is given',
      'set CI_BUILDER_VAULT_PASSWORD or --vault-password-file FILE',
    );
  if (unlockError !== undefined) return failed(check, unlockError, 'check the vault password');
  return ok(check, 'present, and it unlocks the secrets');
}

export async function checkRegistry(loaded: LoadedConfig, secrets: Secrets): Promise<CheckResult> {
  const { registry } = loaded.config;
  const check = `registry ${registry}`;
  if (registry === '') return ok('registry', 'none configured: images stay in the engine');
  const credentials =
    secrets.registry_username && secrets.registry_password
      ? {
          username: secrets.registry_username,
          password: secrets.registry_password,
          tokenHosts: loaded.config.registry_token_hosts,
        }
      : undefined;
  const client = new RegistryClient(registry, credentials, {
    insecure: loaded.config.registry_insecure ?? isLoopbackRegistry(registry),
  });
  try {
    await client.ping();
    return ok(check, credentials ? 'answers, and the credentials are accepted' : 'answers without credentials');
  } catch (error) {
    if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) {
      return failed(
        check,
        credentials ? 'the credentials are refused' : 'it wants credentials and none are configured',
        'set registry_username and registry_password in the secrets file',
      );
    }
    return failed(
      check,
      `unreachable: ${describeNetworkError(error)}`,
      'start the registry or fix registry in the config',
    );
  }
}

/** Each repository's index answers: Pulp ones through the auth proxy (started here on loopback), mirrors directly. */
export async function checkRepositories(
  loaded: LoadedConfig,
  secrets: Secrets,
  distros: readonly string[],
): Promise<CheckResult[]> {
  const repositories = distros.flatMap((distro) =>
    (loaded.config.distros[distro]?.repositories ?? []).map((repo) => ({
      distro,
      repo,
      packageType: loaded.config.distros[distro]?.package_type ?? 'deb',
    })),
  );
  const needsProxy = repositories.some(({ repo }) => isPulpRepository(repo));
  const results: CheckResult[] = [];
  let access: RepositoryAccess = { kind: 'direct', pulpUrl: loaded.config.pulp?.url };
  const proxy =
    needsProxy && secrets.pulp_username
      ? proxyFromConfig(loaded, secrets, { listen: { host: '127.0.0.1', port: 0 }, cacheDir: null })
      : undefined;
  try {
    if (proxy) access = { kind: 'proxy', origin: await proxy.start() };
    for (const { distro, repo, packageType } of repositories) {
      const url = indexUrl(repositoryUrl(repo, access), repo, packageType);
      const check = `repository ${distro}/${repo.name}${isPulpRepository(repo) ? (proxy ? ' (through the auth proxy)' : ' (direct)') : ''}`;
      const status = await head(url).catch((error: unknown) => describeNetworkError(error));
      if (status === 200) results.push(ok(check, `${new URL(url).pathname} answers`));
      else if (status === 403 && isPulpRepository(repo))
        results.push(
          failed(
            check,
            'Pulp refused the request (403)',
            proxy
              ? 'check pulp_username and pulp_password in the secrets file'
              : 'build with --auth-proxy and set pulp_username/pulp_password',
          ),
        );
      else
        results.push(
          failed(
            check,
            typeof status === 'number' ? `HTTP ${status} for ${new URL(url).pathname}` : `unreachable: ${status}`,
            'check the repository URL, base_path and version',
          ),
        );
    }
  } finally {
    await proxy?.stop();
  }
  return results;
}

function indexUrl(base: string, repo: RepositoryConfig, packageType: string): string {
  return packageType === 'deb' ? `${base}dists/${repo.suites?.[0] ?? ''}/InRelease` : `${base}repodata/repomd.xml`;
}

function head(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const transport = url.startsWith('https:') ? https : http;
    const request = transport.request(url, { method: 'HEAD', timeout: 10_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end();
  });
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as NodeJS.ErrnoException).code ?? errorMessage(error);
}
