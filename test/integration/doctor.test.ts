import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startFakePulp, type FakePulp } from '../helpers/fake-pulp.js';
import { freePort, temporaryDir, writeTree } from '../helpers/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const snapshot = '20261101T000000';

describe('doctor', { timeout: 5 * 60_000 }, () => {
  let registry: TestRegistry;
  let pulp: FakePulp;
  const content = writeTree(temporaryDir(), { 'dists/bookworm/InRelease': 'Suite: bookworm\n' });

  before(async () => {
    registry = await startRegistry();
    pulp = await startFakePulp({
      username: 'reader',
      password: 'pulp-pw',
      localContent: { [`debian/bookworm/${snapshot}/`]: content },
    });
  });
  after(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await registry?.stop();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await pulp?.stop();
  });

  const configWith = (secrets: string, registryAddress = registry.address) =>
    writeTree(temporaryDir(), {
      'config.yml': `release: zed
registry: ${registryAddress}
namespace: ns
images_dirs: [.]
pulp: { url: "${pulp.origin}" }
distros:
  debian:
    version: bookworm
    package_type: deb
    base_image: { image: debian, tag: bookworm }
    repositories:
      - { name: debian, base_path: debian/bookworm/, version: "${snapshot}", suites: [bookworm] }
secrets: secrets.yml
`,
      'secrets.yml': secrets,
    });

  const lineOf = (stdout: string, check: string) =>
    stdout.split('\n').find((line) => line.includes(`  ${check}`)) ?? '';

  it('passes every check with a working engine, registry, Pulp and credentials', async () => {
    const dir = configWith(
      `registry_username: ${registry.username}\nregistry_password: ${registry.password}\npulp_username: reader\npulp_password: pulp-pw\n`,
    );
    const result = await runCli(['--config', dir, 'doctor']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(lineOf(result.stdout, 'buildah can build'), /^ok {4}/);
    assert.match(lineOf(result.stdout, `registry ${registry.address}`), /^ok {4}.*credentials are accepted/);
    assert.match(
      lineOf(result.stdout, 'repository debian/debian'),
      /^ok {4}.*through the auth proxy.*dists\/bookworm\/InRelease answers/,
    );
    assert.match(lineOf(result.stdout, 'localhost'), /^ok/);
    assert.ok(!result.stdout.includes(registry.password) && !result.stdout.includes('pulp-pw'));
  });

  it('fails, saying what to do, on refused credentials, an unreachable registry and low space', async () => {
    const dir = configWith(
      `registry_username: ${registry.username}\nregistry_password: wrong\npulp_username: reader\npulp_password: wrong\n`,
    );
    const result = await runCli(['--config', dir, 'doctor', '--min-free-gib', '1000000']);
    assert.equal(result.code, 1);
    assert.match(
      lineOf(result.stdout, `registry ${registry.address}`),
      /^fail {2}.*credentials are refused — set registry_username and registry_password/,
    );
    assert.match(
      lineOf(result.stdout, 'repository debian/debian'),
      /^fail {2}.*Pulp refused the request \(403\) — check pulp_username/,
    );
    assert.match(lineOf(result.stdout, 'storage space'), /^warn {2}.*below 1000000 GiB/);
    const closedPort = await freePort();
    const down = await runCli([
      '--config',
      configWith('registry_username: a\nregistry_password: b\n', `127.0.0.1:${closedPort}`),
      'doctor',
    ]);
    assert.match(lineOf(down.stdout, `registry 127.0.0.1:${closedPort}`), /^fail {2}.*unreachable: ECONNREFUSED/);
  });

  it('knows podman: the local one builds; a podman service that is not there fails, saying what to start', async () => {
    const secrets = `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`;
    const local = await runCli(['--config', configWith(secrets), 'doctor', '--engine', 'podman']);
    assert.match(lineOf(local.stdout, 'podman installed'), /^ok {4}podman installed: podman version \d/);
    assert.match(lineOf(local.stdout, 'podman can build'), /^ok {4}/, local.stdout + local.stderr);
    // buildah is installed beside podman here: a respin's patched children are stacked through it.
    assert.match(
      lineOf(local.stdout, 'respin stacking'),
      /^ok {4}respin stacking: through \/\S+\/buildah, on the store podman and buildah share \(\/\S+\)$/,
    );
    const dir = configWith(secrets);
    const socket = `unix://${join(temporaryDir(), 'podman.sock')}`;
    appendFileSync(join(dir, 'config.yml'), `engine: podman\nengine_url: ${socket}\n`);
    const gone = await runCli(['--config', dir, 'doctor']);
    assert.equal(gone.code, 1);
    assert.match(
      lineOf(gone.stdout, 'podman service'),
      new RegExp(`^fail {2}.*Podman.* — start \`podman system service --time=0 ${socket}\``),
    );
  });

  it('fails the vault check when the secrets are vaulted and no password is given', async () => {
    const dir = configWith('');
    const encrypt = await runCli(['vault', 'encrypt', join(dir, 'secrets.yml')], {
      env: { CI_BUILDER_VAULT_PASSWORD: 'v' },
    });
    assert.equal(encrypt.code, 0, encrypt.stderr);
    const locked = await runCli(['--config', dir, 'doctor']);
    assert.equal(locked.code, 1);
    assert.match(
      lineOf(locked.stdout, 'vault password'),
      /^fail {2}.*no password is given — set CI_BUILDER_VAULT_PASSWORD/,
    );
    const unlocked = await runCli(['--config', dir, 'doctor'], { env: { CI_BUILDER_VAULT_PASSWORD: 'v' } });
    assert.match(lineOf(unlocked.stdout, 'vault password'), /^ok {4}vault password: present/);
  });
});
