import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { loadSecrets } from '../../src/config/secrets.js';
import { redactSecrets } from '../../src/config/redact.js';
import { ConfigError, UsageError } from '../../src/util/errors.js';
import { aliasBomb } from '../helpers/alias-bomb.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const base = `release: zed
registry: ""
namespace: ns
images_dirs: [images]
distros:
  debian:
    version: bookworm
    package_type: deb
    base_image: { image: debian, tag: bookworm }
sets:
  seed: [{ regex: bifrost, enabled: true }]
`;

function configDir(files: Record<string, string>): string {
  return writeTree(temporaryDir(), { 'config.yml': base, ...files });
}

describe('config loading', () => {
  it('applies defaults and resolves image trees against the config file', () => {
    const dir = configDir({});
    const loaded = loadConfig({ configDir: dir, env: {} });
    assert.equal(loaded.config.engine, 'buildah');
    assert.equal(loaded.config.threads, 2);
    assert.deepEqual(loaded.imagesDirs, [join(dir, 'images')]);
  });

  it('overlays an environment, then variables, then flags', () => {
    const dir = configDir({
      'environments/ci/config.yml': 'threads: 4\nregistry: 127.0.0.1:5000\nnamespace: from-env-file\n',
    });
    const loaded = loadConfig({
      configDir: dir,
      environment: 'ci',
      env: { CI_BUILDER_THREADS: '6', CI_BUILDER_NAMESPACE: 'from-variable' },
      flags: { threads: 8 },
    });
    assert.equal(loaded.config.threads, 8, 'flag beats variable');
    assert.equal(loaded.config.namespace, 'from-variable', 'variable beats environment');
    assert.equal(loaded.config.registry, '127.0.0.1:5000', 'environment beats base');
    assert.equal(loaded.environment, 'ci');
  });

  it('takes the environment from CI_BUILDER_ENVIRONMENT', () => {
    const dir = configDir({ 'environments/ci/config.yml': 'release: "2024.1"\n' });
    assert.equal(loadConfig({ configDir: dir, env: { CI_BUILDER_ENVIRONMENT: 'ci' } }).config.release, '2024.1');
  });

  it('merges nested keys of an environment into the base', () => {
    const dir = configDir({ 'environments/ci/config.yml': 'distros:\n  debian:\n    version: trixie\n' });
    const debian = loadConfig({ configDir: dir, environment: 'ci', env: {} }).config.distros.debian;
    assert.equal(debian?.version, 'trixie');
    assert.equal(debian.package_type, 'deb');
  });

  it('names the file and key of a value of the wrong type', () => {
    const dir = configDir({ 'environments/ci/config.yml': 'threads: many\n' });
    assert.throws(
      () => loadConfig({ configDir: dir, environment: 'ci', env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.file === join(dir, 'environments/ci/config.yml') &&
        error.keyPath === 'threads' &&
        /number/.test(error.message),
    );
  });

  it('names a bad variable as the origin', () => {
    const dir = configDir({});
    assert.throws(
      () => loadConfig({ configDir: dir, env: { CI_BUILDER_THREADS: 'x' } }),
      /environment variable CI_BUILDER_THREADS: threads: /,
    );
  });

  it('rejects unknown keys, naming them', () => {
    const dir = configDir({ 'config.yml': `${base}thread: 3\n` });
    assert.throws(
      () => loadConfig({ configDir: dir, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError && error.keyPath === 'thread' && /unknown key/.test(error.message),
    );
  });

  it('caps string values: one line naming the file and the key, whatever the nesting', () => {
    const long = (count: number) => 'x'.repeat(count);
    const cases: Array<[string, string, string]> = [
      [`maintainer: "${long(5 * 1024 * 1024)}"\n`, 'maintainer', 'at most 256 characters'],
      [`image_prefix: ${long(257)}\n`, 'image_prefix', 'at most 256 characters'],
      [`images_dirs: [images, ${long(4097)}]\n`, 'images_dirs.1', 'at most 4096 characters'],
      [`build:\n  blocks:\n    footer: "${long(64 * 1024 + 1)}"\n`, 'build.blocks.footer', 'at most 65536 characters'],
      [
        `build:\n  customizations:\n    extra_packages: [${Array(20).fill(long(4000)).join(', ')}]\n`,
        'build.customizations.extra_packages',
        'at most 65536 characters',
      ],
    ];
    for (const [yaml, keyPath, expected] of cases) {
      const dir = configDir({ 'environments/ci/config.yml': yaml });
      assert.throws(
        () => loadConfig({ configDir: dir, environment: 'ci', env: {} }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.message, `${join(dir, 'environments/ci/config.yml')}: ${keyPath}: ${expected}`);
          return true;
        },
      );
    }
    const dir = configDir({ 'environments/ci/config.yml': `maintainer: "${long(256)}"\n` });
    assert.equal(loadConfig({ configDir: dir, environment: 'ci', env: {} }).config.maintainer.length, 256);
  });

  it('rejects a nested bad value with its full key path', () => {
    const dir = configDir({ 'config.yml': base.replace('package_type: deb', 'package_type: apk') });
    assert.throws(() => loadConfig({ configDir: dir, env: {} }), /config\.yml: distros\.debian\.package_type: /);
  });

  it('reports YAML syntax errors with the line', () => {
    const dir = configDir({ 'config.yml': 'release: [zed\n' });
    assert.throws(() => loadConfig({ configDir: dir, env: {} }), /config\.yml: line \d+ column \d+: invalid YAML/);
  });

  it('rejects an invalid set regex', () => {
    const dir = configDir({ 'config.yml': base.replace('regex: bifrost', 'regex: "bif(rost"') });
    assert.throws(
      () => loadConfig({ configDir: dir, env: {} }),
      /sets\.seed\.0\.regex: expected a valid regular expression/,
    );
  });

  it('refuses a pulp.url that carries a user or password, without repeating it', () => {
    for (const url of ['https://reader:Pulp-Pa55word@pulp.example', 'https://reader@pulp.example/']) {
      const dir = configDir({ 'config.yml': `${base}pulp: { url: "${url}" }\n` });
      assert.throws(
        () => loadConfig({ configDir: dir, env: {} }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.keyPath, 'pulp.url');
          assert.match(error.message, /must not carry a user or password: .*pulp_username and pulp_password/);
          for (const secret of ['Pulp-Pa55word', 'reader']) assert.ok(!error.message.includes(secret), error.message);
          return true;
        },
      );
    }
  });

  it('reads registry_token_hosts as host names, none by default', () => {
    assert.deepEqual(loadConfig({ configDir: configDir({}), env: {} }).config.registry_token_hosts, []);
    const listed = configDir({ 'config.yml': `${base}registry_token_hosts: [auth.docker.io, 10.0.0.5]\n` });
    assert.deepEqual(loadConfig({ configDir: listed, env: {} }).config.registry_token_hosts, [
      'auth.docker.io',
      '10.0.0.5',
    ]);
    const url = configDir({ 'config.yml': `${base}registry_token_hosts: ["https://auth.docker.io/token"]\n` });
    assert.throws(
      () => loadConfig({ configDir: url, env: {} }),
      /registry_token_hosts\.0: a host name such as auth\.docker\.io/,
    );
  });

  it('reads a set written as a kolla-build profile: a list of bare regexes', () => {
    const dir = configDir({ 'config.yml': `${base}  infra: ["^mariadb", "^rabbitmq"]\n` });
    assert.deepEqual(loadConfig({ configDir: dir, env: {} }).config.sets.infra, [
      { regex: '^mariadb', enabled: true },
      { regex: '^rabbitmq', enabled: true },
    ]);
  });

  it('resolves local sources and repos.yaml files against the file that names them, and wants a reference for git', () => {
    const dir = configDir({
      'config.yml': `${base}sources:\n  keystone: { type: local, location: src/keystone }\n  nova: { type: url, location: 'http://127.0.0.1/nova.tar.gz' }\nbuild:\n  repos_yaml: [repos.yaml]\n`,
    });
    const loaded = loadConfig({ configDir: dir, env: {} });
    assert.equal(loaded.renderInputs.sources.keystone?.location, join(dir, 'src/keystone'));
    assert.equal(loaded.renderInputs.sources.keystone.enabled, true);
    assert.equal(loaded.renderInputs.sources.nova?.location, 'http://127.0.0.1/nova.tar.gz');
    assert.deepEqual(loaded.renderInputs.reposYamlFiles, [join(dir, 'repos.yaml')]);
    const gitless = configDir({
      'config.yml': `${base}sources:\n  keystone: { type: git, location: /srv/keystone.git }\n`,
    });
    assert.throws(
      () => loadConfig({ configDir: gitless, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /sources\.keystone\.reference: a git source needs reference/.test(error.message),
    );
  });

  it('reads the scan keys: osv_db one path or many, files against the file that names them, defaults', () => {
    const dir = configDir({
      'config.yml': `${base}scan:\n  osv_db: db/all.zip\n  allowed_vulnerabilities: trivy/allowed.yml\n  ignore_unfixed: true\n`,
    });
    const loaded = loadConfig({ configDir: dir, env: {} });
    assert.deepEqual(loaded.scanFiles, {
      osvDb: [join(dir, 'db/all.zip')],
      allowedVulnerabilities: join(dir, 'trivy/allowed.yml'),
    });
    assert.deepEqual([loaded.config.scan.ignore_unfixed, loaded.config.scan.scanner], [true, 'osv']);
    const defaults = loadConfig({ configDir: configDir({}), env: {} });
    assert.deepEqual(defaults.scanFiles, { osvDb: [], allowedVulnerabilities: undefined });
    const bad = configDir({ 'config.yml': `${base}scan:\n  scanner: grype\n` });
    assert.throws(
      () => loadConfig({ configDir: bad, env: {} }),
      (error: unknown) => error instanceof ConfigError && /scan\.scanner/.test(error.message),
    );
  });

  it('redacts secret-looking keys and the password of a URL for display', () => {
    assert.deepEqual(
      redactSecrets({
        registry_password: 'p',
        sources: { nova: { location: 'https://bob:s3cret@git.example/nova.git', type: 'git' } },
        list: ['http://x.example/a'],
      }),
      {
        registry_password: '<redacted>',
        sources: { nova: { location: 'https://bob:<redacted>@git.example/nova.git', type: 'git' } },
        list: ['http://x.example/a'],
      },
    );
  });

  it('refuses an unknown environment, listing the known ones', () => {
    const dir = configDir({ 'environments/ci/config.yml': 'threads: 1\n' });
    assert.throws(
      () => loadConfig({ configDir: dir, environment: 'prod', env: {} }),
      (error: unknown) => error instanceof UsageError && /unknown environment "prod".*known: ci/.test(error.message),
    );
  });

  it('refuses a missing config folder', () => {
    assert.throws(() => loadConfig({ configDir: join(temporaryDir(), 'nowhere'), env: {} }), /config file not found/);
  });

  it('refuses a YAML alias bomb in the config as a config error naming the file', () => {
    const dir = configDir({ 'config.yml': `${base}x-laughs:\n${aliasBomb('  ')}` });
    assert.throws(
      () => loadConfig({ configDir: dir, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.file === join(dir, 'config.yml') &&
        /invalid YAML: aliases expand more than 100 times: refused as an alias bomb/.test(error.message),
    );
  });

  it('refuses a YAML alias bomb in the secrets file, and an alias to no anchor, the same way', () => {
    const dir = configDir({
      'config.yml': `${base}secrets: secrets.yml\n`,
      'secrets.yml': aliasBomb(),
      'dangling.yml': 'registry_password: *nothing\n',
    });
    const loaded = loadConfig({ configDir: dir, env: {} });
    assert.throws(
      () => loadSecrets(loaded.secretsFile, loaded.readYaml),
      (error: unknown) =>
        error instanceof ConfigError && error.file === join(dir, 'secrets.yml') && /alias bomb/.test(error.message),
    );
    assert.throws(
      () => loadSecrets(join(dir, 'dangling.yml'), loaded.readYaml),
      (error: unknown) => error instanceof ConfigError && /invalid YAML: .*alias/i.test(error.message),
    );
  });

  it('a secrets file named by the config must exist; no `secrets:` key means no credentials', () => {
    const dir = configDir({ 'config.yml': `${base}secrets: vault/secrets.yml\n` });
    const loaded = loadConfig({ configDir: dir, env: {} });
    const expected = `${join(dir, 'vault/secrets.yml')}: the secrets file named by the config key "secrets" does not exist`;
    assert.throws(
      () => loadSecrets(loaded.secretsFile, loaded.readYaml),
      (error: unknown) => error instanceof UsageError && error.message.startsWith(expected),
    );
    const without = loadConfig({ configDir: configDir({}), env: {} });
    assert.deepEqual(loadSecrets(without.secretsFile, without.readYaml), {});
  });

  it('knows the vault password given, to mask it, even when nothing was encrypted', () => {
    const dir = configDir({ 'vault-password': 'from-a-file\n' });
    const fromEnv = loadConfig({ configDir: dir, env: { CI_BUILDER_VAULT_PASSWORD: 'from-the-env' } });
    assert.equal(fromEnv.vaultPassword(), 'from-the-env');
    const fromFile = loadConfig({ configDir: dir, env: {}, vaultPasswordFile: join(dir, 'vault-password') });
    assert.equal(fromFile.vaultPassword(), 'from-a-file');
    assert.equal(loadConfig({ configDir: dir, env: {} }).vaultPassword(), undefined);
  });
});
