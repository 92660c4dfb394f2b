import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const username = 'mirror-user';
const password = `leak-${Math.random().toString(36).slice(2)}-pw`;
const storage = ['--storage-driver', 'overlay'];

/** A one-layer image built from scratch (no network): a file in a layer and a label in its config. */
function buildImage(reference: string, fileContent: string, label: string): void {
  const context = writeTree(temporaryDir(), {
    'payload.txt': fileContent,
    Dockerfile: `FROM scratch\nCOPY payload.txt /etc/payload.txt\nLABEL note="${label}"\n`,
  });
  execFileSync('buildah', [...storage, 'bud', '--isolation', 'chroot', '-t', reference, context], { stdio: 'ignore' });
}

describe('verify-no-secrets', { timeout: 5 * 60_000 }, () => {
  const configDir = writeTree(temporaryDir(), {
    'config.yml':
      'release: zed\nnamespace: ns\nimages_dirs: [.]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\nsecrets: secrets.yml\n',
    'secrets.yml': `pulp_username: ${username}\npulp_password: ${password}\n`,
  });
  const stamp = Date.now();
  const clean = `localhost/verify-test/clean:${stamp}`;
  const inLayer = `localhost/verify-test/in-layer:${stamp}`;
  const inLabel = `localhost/verify-test/in-label:${stamp}`;
  after(() => execFileSync('buildah', [...storage, 'rmi', clean, inLayer, inLabel], { stdio: 'ignore' }));

  it('passes a clean image and finds a credential in a layer or in the config, without printing it', async () => {
    buildImage(clean, 'nothing to see\n', 'fine');
    buildImage(inLayer, `Authorization: Basic ${Buffer.from(`${username}:${password}`).toString('base64')}\n`, 'fine');
    buildImage(inLabel, 'nothing\n', `http://${username}:${password}@pulp.example.com/`);

    const ok = await runCli(['--config', configDir, 'verify-no-secrets', clean]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${clean}: clean\n`);

    const found = await runCli(['--config', configDir, 'verify-no-secrets', clean, inLayer, inLabel]);
    assert.equal(found.code, 1, found.stderr);
    assert.match(
      found.stdout,
      new RegExp(`^${inLayer}: FOUND pulp_password \\(base64 of user:password\\) in layer sha256:[0-9a-f]{64}$`, 'm'),
    );
    assert.match(
      found.stdout,
      new RegExp(`^${inLabel}: FOUND pulp_password in image config \\(labels, environment, history\\)$`, 'm'),
    );
    assert.match(found.stdout, new RegExp(`^${inLabel}: FOUND pulp_password \\(user:password@ in a URL\\)`, 'm'));
    assert.ok(!found.stdout.includes(password) && !found.stderr.includes(password));
  });

  it('refuses to run with no credential to look for', async () => {
    const empty = writeTree(temporaryDir(), {
      'config.yml':
        'release: zed\nnamespace: ns\nimages_dirs: [.]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\n',
    });
    const result = await runCli(['--config', empty, 'verify-no-secrets', clean]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /nothing to look for/);
  });
});
