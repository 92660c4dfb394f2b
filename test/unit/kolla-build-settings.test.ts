import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { confOptionsOf, parseKollaBuildConf } from '../../src/kolla/build-conf.js';
import { kollaBuildSettings } from '../../src/kolla/effective-options.js';
import { readKollaCheckout } from '../../src/kolla/read-checkout.js';
import { UsageError } from '../../src/util/errors.js';
import { projectRoot } from '../helpers/files.js';

const older = join(projectRoot, 'test/fixtures/kolla-checkout-older');
const newer = join(projectRoot, 'test/fixtures/kolla-checkout-newer');
const file = '/etc/kolla/kolla-build.conf';

describe('kollaBuildSettings', () => {
  it('derives base tag and image from the distro, branch from the release, tag from the version', async () => {
    const checkout = await readKollaCheckout(older, { env: { PBR_VERSION: '30.1.0' } });
    const conf = parseKollaBuildConf('[DEFAULT]\nbase = beta\n', file, confOptionsOf(checkout));
    const settings = kollaBuildSettings(checkout, conf);
    assert.equal(settings.base, 'beta');
    assert.equal(settings.baseTag, 'oldname');
    assert.equal(settings.baseImage, 'beta');
    assert.equal(settings.tag, '30.1.0');
    assert.equal(settings.openstackBranch, 'retired-2030.1');
    assert.equal(settings.openstackBranchSlashed, 'retired/2030.1');
    assert.equal(settings.values['threads'], 8);
    assert.deepEqual(settings.explicit, ['base']);
  });

  it('formats the tag from release, base and base tag on newer releases; master has no branch prefix', async () => {
    const checkout = await readKollaCheckout(newer, { env: { PBR_VERSION: '40.0.0' } });
    const text = '[DEFAULT]\nbase = alpha\nbase_tag = 9\nregistry = r.example:5000\nnamespace = ns\n';
    const conf = parseKollaBuildConf(text, file, confOptionsOf(checkout));
    const settings = kollaBuildSettings(checkout, conf);
    assert.equal(settings.tag, 'master-alpha-9');
    assert.equal(settings.baseTag, '9');
    assert.equal(settings.openstackBranch, 'master');
    assert.equal(settings.namespace, 'r.example:5000/ns');
  });

  it('lets the command line win over the files, and files over defaults', async () => {
    const checkout = await readKollaCheckout(older, { env: { PBR_VERSION: '30.1.0' } });
    const conf = parseKollaBuildConf(
      '[DEFAULT]\ntag = from-file\nthreads = 3\nbase_arch = aarch64\n',
      file,
      confOptionsOf(checkout),
    );
    const settings = kollaBuildSettings(checkout, conf, { tag: 'from-cli' });
    assert.equal(settings.tag, 'from-cli');
    assert.equal(settings.values['threads'], 3);
    assert.equal(settings.debianArch, 'arm64');
  });

  it('refuses a distro the release does not have, and a tag it cannot tell', async () => {
    const checkout = await readKollaCheckout(older, { env: { PBR_VERSION: '30.1.0' } });
    const known = confOptionsOf(checkout);
    assert.throws(
      () => kollaBuildSettings(checkout, parseKollaBuildConf('', file, known), { base: 'gamma' }),
      (error: unknown) =>
        error instanceof UsageError && /base: gamma is not a distro of Kolla 2030\.1/.test(error.message),
    );
    const unversioned = await readKollaCheckout(older, { env: {} });
    assert.throws(
      () => kollaBuildSettings(unversioned, parseKollaBuildConf('', file, known)),
      /tag: not set, and Kolla 2030\.1 defaults it to its version, which is unknown/,
    );
  });
});
