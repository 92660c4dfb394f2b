import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { secretScrubber } from '../../src/run/registry-auth.js';
import { ImageLayoutError } from '../../src/util/oci-layout.js';
import { credentialNeedles, findSecretsInOciLayout } from '../../src/verify/no-secrets.js';
import { ociLayout, tarOf } from '../helpers/oci-layout.js';

describe('credential forms', () => {
  const secrets = {
    registry_username: 'builder',
    registry_password: 's3cret-pw',
    pulp_username: 'reader',
    pulp_password: 'pulp-pw!',
  };
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  it('lists each credential plain, in base64, as user:password (plain, base64, in a URL)', () => {
    const values = credentialNeedles(secrets).map((needle) => needle.value);
    for (const form of [
      's3cret-pw',
      b64('s3cret-pw').replace(/=+$/, ''),
      'builder:s3cret-pw',
      b64('builder:s3cret-pw').replace(/=+$/, ''),
      'reader:pulp-pw!@',
    ])
      assert.ok(values.includes(form), form);
    assert.ok(
      credentialNeedles(secrets).every(
        (needle) => !needle.description.includes('s3cret') && !needle.description.includes('pulp-pw'),
      ),
    );
    assert.deepEqual(credentialNeedles({}), []);
  });

  it('scrubs every form from a log line, and leaves ordinary text alone', () => {
    const scrub = secretScrubber(credentialNeedles(secrets).map((needle) => needle.value));
    const line = `Authorization: Basic ${b64('builder:s3cret-pw')} pw=s3cret-pw url=http://reader:pulp-pw!@pulp/ ${b64('pulp-pw!')}`;
    const scrubbed = scrub(line);
    for (const form of [
      's3cret-pw',
      'pulp-pw!',
      b64('builder:s3cret-pw').replace(/=+$/, ''),
      b64('pulp-pw!').replace(/=+$/, ''),
    ])
      assert.ok(!scrubbed.includes(form), form);
    assert.equal(scrub('Setting up memcached (1.6.18)'), 'Setting up memcached (1.6.18)');
    assert.equal(secretScrubber(['ab'])('ab cd'), 'ab cd', 'forms shorter than 4 characters are not scrubbed');
  });
});

describe('searching an OCI layout someone else made', () => {
  const needles = credentialNeedles({ registry_username: 'u', registry_password: 'a-registry-password' });

  it('finds the credential in a layer, and refuses an oversized or escaping manifest in one line', async () => {
    const layout = ociLayout([tarOf({ 'etc/leak': 'token=a-registry-password\n' })]);
    const findings = await findSecretsInOciLayout(layout, needles);
    assert.ok(findings.some((finding) => finding.where.startsWith('layer sha256:')));
    const index = readFileSync(join(layout, 'index.json'), 'utf8');
    writeFileSync(join(layout, 'index.json'), `${index}${' '.repeat(5 * 1024 * 1024)}`);
    await assert.rejects(
      findSecretsInOciLayout(layout, needles),
      (error: unknown) =>
        error instanceof ImageLayoutError &&
        /index\.json: OCI index or manifest is 5\.0 MiB, more than the 4\.0 MiB allowed$/.test(error.message),
    );
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({ manifests: [{ digest: 'sha256:../../../etc/passwd' }] }),
    );
    await assert.rejects(
      findSecretsInOciLayout(layout, needles),
      /manifests\[0\]\.digest is not a sha256 or sha512 digest$/,
    );
  });
});
