import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confOptionsOf, parseKollaBuildConf } from '../../src/kolla/build-conf.js';
import { kollaBuildSettings } from '../../src/kolla/effective-options.js';
import { readKollaCheckout } from '../../src/kolla/read-checkout.js';
import { distroPythonVersion, openstackBranch, reposFileFor, unbuildableFor } from '../../src/kolla/release-values.js';

/**
 * Reads real Kolla checkouts: KOLLA_CHECKOUTS lists their folders (`:`-separated), each a branch exported or
 * cloned (unmaintained/2024.1, stable/2025.1, stable/2025.2, stable/2026.1, master).
 */
const checkouts = (process.env['KOLLA_CHECKOUTS'] ?? '').split(':').filter((dir) => dir !== '');
const skip = checkouts.length === 0 ? 'set KOLLA_CHECKOUTS to Kolla checkouts (folders, ":"-separated) to run' : false;

/** What each release is known to say (checked by hand against the branches). */
const known: Record<
  string,
  {
    debian: string;
    ubuntu: string;
    rocky: string;
    branch: string;
    codename: boolean;
    tree: 'docker' | 'kolla/docker';
    reposFiles: string[];
    buildDate: boolean;
    pythonVersion: boolean;
    override: 'replace' | 'merge';
  }
> = {
  '2024.1': {
    debian: 'bookworm',
    ubuntu: '22.04',
    rocky: '9',
    branch: 'unmaintained-2024.1',
    codename: false,
    tree: 'docker',
    reposFiles: ['repos-noble.yaml', 'repos.yaml'],
    buildDate: true,
    pythonVersion: true,
    override: 'replace',
  },
  '2025.1': {
    debian: 'bookworm',
    ubuntu: '24.04',
    rocky: '9',
    branch: 'stable-2025.1',
    codename: false,
    tree: 'docker',
    reposFiles: ['repos-el10.yaml', 'repos.yaml'],
    buildDate: true,
    pythonVersion: false,
    override: 'replace',
  },
  '2025.2': {
    debian: 'bookworm',
    ubuntu: '24.04',
    rocky: '10',
    branch: 'stable-2025.2',
    codename: true,
    tree: 'docker',
    reposFiles: ['repos.yaml'],
    buildDate: true,
    pythonVersion: false,
    override: 'replace',
  },
  '2026.1': {
    debian: 'trixie',
    ubuntu: '24.04',
    rocky: '10',
    branch: 'stable-2026.1',
    codename: true,
    tree: 'docker',
    reposFiles: ['repos.yaml'],
    buildDate: true,
    pythonVersion: false,
    override: 'replace',
  },
  master: {
    debian: 'trixie',
    ubuntu: '24.04',
    rocky: '10',
    branch: 'master',
    codename: true,
    tree: 'kolla/docker',
    reposFiles: ['repos.yaml'],
    buildDate: false,
    pythonVersion: false,
    override: 'merge',
  },
};

describe('real Kolla checkouts', { skip }, () => {
  for (const dir of checkouts) {
    it(`reads ${dir} and finds what its release is known to say`, async (t) => {
      const checkout = await readKollaCheckout(dir, { env: { PBR_VERSION: process.env['PBR_VERSION'] } });
      const facts = known[checkout.release];
      assert.ok(facts !== undefined, `${dir}: release ${checkout.release} is not one this test knows`);
      assert.equal(checkout.distros['debian']?.baseTag, facts.debian);
      assert.equal(checkout.distros['debian'].baseImage, 'debian');
      assert.equal(checkout.distros['ubuntu']?.baseTag, facts.ubuntu);
      assert.equal(checkout.distros['rocky']?.baseTag, facts.rocky);
      assert.equal(openstackBranch(checkout, checkout.release).dashed, facts.branch);
      assert.equal(checkout.codename !== null, facts.codename);
      assert.equal(checkout.templates.keys.includes('openstack_release_codename'), facts.codename);
      assert.equal(checkout.imageTreeLocation, facts.tree);
      assert.deepEqual(checkout.reposYaml.files, facts.reposFiles);
      assert.equal(checkout.reposYaml.override, facts.override);
      assert.equal(checkout.templates.keys.includes('build_date'), facts.buildDate);
      assert.equal(checkout.templates.keys.includes('distro_python_version'), facts.pythonVersion);
      assert.ok(Object.keys(checkout.users).length >= 75 && Object.keys(checkout.users).length <= 95);
      assert.ok(Object.keys(checkout.sources).length >= 70 && Object.keys(checkout.sources).length <= 95);
      assert.equal(checkout.users['kolla-user']?.uid, 42400);
      assert.equal(checkout.sources['openstack-base']?.type, 'url');
      assert.deepEqual(Object.keys(checkout.profiles), ['infra', 'main', 'aux', 'default']);
      assert.match(checkout.maintainer, /Kolla/);
      for (const key of ['base_distro', 'base_image', 'tag', 'users', 'kolla_version', 'image_name', 'rpm_setup']) {
        assert.ok(checkout.templates.keys.includes(key), `${key} in ${checkout.release}'s template values`);
      }
      if (facts.pythonVersion) {
        assert.equal(distroPythonVersion(checkout, 'debian', facts.debian), '3.11');
        assert.equal(distroPythonVersion(checkout, 'ubuntu', '24.04'), '3.12');
        assert.equal(distroPythonVersion(checkout, 'ubuntu', '22.04'), '3.10');
        assert.equal(reposFileFor(checkout, 'ubuntu', '24.04'), 'repos-noble.yaml');
      }
      if (facts.reposFiles.includes('repos-el10.yaml')) {
        assert.equal(reposFileFor(checkout, 'rocky', '10'), 'repos-el10.yaml');
        assert.equal(reposFileFor(checkout, 'rocky', '9'), 'repos.yaml');
      }
      // kolla-build.conf as Kayobe writes it parses against this release's options with nothing unknown.
      const conf = parseKollaBuildConf(
        [
          '[DEFAULT]',
          'base=debian',
          `base_tag=${facts.debian}`,
          'base_arch=x86_64',
          'namespace=kolla',
          'network_mode=host',
          'tag=ci-1',
          'repos_yaml=/etc/kolla/repos.yaml',
          'template_override=/etc/kolla/template-override.j2',
          '',
          '[openstack-base]',
          'type = local',
          'location = /src/requirements',
          '',
          '[kolla-toolbox-user]',
          'uid = 42499',
          '',
          '[profiles]',
          'mine = ^keystone',
          '',
        ].join('\n'),
        '/etc/kolla/kolla-build.conf',
        confOptionsOf(checkout),
      );
      assert.deepEqual(conf.unknown, []);
      assert.equal(conf.defaults['network_mode'], 'host');
      const settings = kollaBuildSettings(checkout, conf);
      assert.equal(settings.openstackBranch, facts.branch);
      assert.equal(settings.baseImage, 'debian');
      assert.equal(settings.tag, 'ci-1');
      if (checkout.templates.defaultTag.kind === 'format') {
        const untagged = parseKollaBuildConf('[DEFAULT]\nbase = rocky\n', 'kolla-build.conf', confOptionsOf(checkout));
        assert.equal(kollaBuildSettings(checkout, untagged).tag, `${checkout.release}-rocky-${facts.rocky}`);
      }
      const table = checkout.unbuildable.table;
      t.diagnostic(
        JSON.stringify({
          dir,
          release: checkout.release,
          codename: checkout.codename,
          users: Object.keys(checkout.users).length,
          sources: Object.keys(checkout.sources).length,
          profiles: Object.fromEntries(
            Object.entries(checkout.profiles).map(([name, images]) => [name, images.length]),
          ),
          unbuildable: Object.fromEntries(Object.entries(table).map(([key, images]) => [key, images.length])),
          debianX86Unbuildable: unbuildableFor(checkout, {
            base: 'debian',
            base_arch: 'x86_64',
            base_tag: facts.debian,
          }).length,
          bases: Object.fromEntries(
            Object.entries(checkout.distros).map(([name, d]) => [name, `${d.baseImage}:${d.baseTag}`]),
          ),
          version: checkout.version,
        }),
      );
    });
  }
});
