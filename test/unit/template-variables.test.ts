import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { rpmSetupInstruction, templateVariables } from '../../src/render/variables.js';
import { templateEnvironment } from '../../src/render/template-environment.js';

const config = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    release: 'zed',
    namespace: 'kolla',
    images_dirs: ['images'],
    distros: {
      rocky: {
        version: '9',
        package_type: 'rpm',
        base_image: { image: 'quay.io/rockylinux/rockylinux', tag: '9' },
        pretty_name: 'Rocky Linux 9',
      },
    },
    ...extra,
  });

const input = (parsed: ReturnType<typeof config>, architecture = 'x86_64') => ({
  config: parsed,
  distro: 'rocky',
  baseImage: { repository: 'quay.io/rockylinux/rockylinux', tag: '9' },
  architecture,
  namespace: '127.0.0.1:5000/kolla',
  tag: 'zed-rocky-9',
  toolVersion: '0.1.0',
  environment: {},
});

describe('template variables', () => {
  it("computes kolla-build's values from the configuration", () => {
    const values = templateVariables(input(config()));
    assert.equal(values.base_package_type, 'rpm');
    assert.equal(values.distro_package_manager, 'dnf');
    assert.equal(values.debian_arch, 'amd64');
    assert.equal(values.supported_distro_name, 'Rocky Linux 9');
    assert.equal(values.openstack_release, 'zed');
    assert.equal(values.openstack_release_codename, 'Zed', 'codename defaults to the release, capitalised');
    assert.equal(values.openstack_branch, 'stable-zed');
    assert.equal(values.openstack_branch_slashed, 'stable/zed');
    assert.equal(values.kolla_version, '0.1.0');
    assert.deepEqual(
      [values.use_dumb_init, values.docker_healthchecks, values.clean_package_cache],
      [true, true, true],
    );
    assert.deepEqual(values.rpm_setup, []);
    assert.equal(templateVariables(input(config(), 'aarch64')).debian_arch, 'arm64');
  });

  it('takes the codename, users table, switches and rpm setup from the configuration', () => {
    const values = templateVariables(
      input(
        config({
          release: 'master',
          release_codename: 'Gazpacho',
          users: { nova: { uid: 42436, gid: 42436, group: 'nova' }, kolla: { uid: 42400 } },
          build: {
            use_dumb_init: false,
            clean_package_cache: false,
            kolla_version: '21.0.0',
            rpm_setup: ['http://x.example/a.repo', 'local.repo', 'http://x.example/r.rpm', ''],
          },
        }),
      ),
    );
    assert.equal(values.openstack_branch, 'master');
    assert.equal(values.openstack_branch_slashed, 'master');
    assert.equal(values.openstack_release_codename, 'Gazpacho');
    assert.deepEqual(values.users, {
      nova: { uid: 42436, gid: 42436, group: 'nova' },
      kolla: { uid: 42400, gid: 42400, group: 'kolla' },
    });
    assert.equal(values.use_dumb_init, false);
    assert.equal(values.clean_package_cache, false);
    assert.equal(values.kolla_version, '21.0.0');
    assert.deepEqual(values.rpm_setup, [
      'RUN curl -L http://x.example/a.repo -o /etc/yum.repos.d/a.repo',
      'COPY local.repo /etc/yum.repos.d/',
      'RUN dnf -y install http://x.example/r.rpm',
      '',
    ]);
  });

  it('refuses an rpm_setup entry that is neither .rpm nor .repo', () => {
    assert.throws(() => config({ build: { rpm_setup: ['thing.txt'] } }), /\.rpm or \.repo/);
    assert.throws(() => rpmSetupInstruction('thing.txt'), /neither a \.rpm nor a \.repo/);
  });

  it("gives templates the environment as env, without ci-builder's own variables (the vault password among them)", () => {
    assert.deepEqual(
      templateEnvironment({ HOME: '/root', CI_BUILDER_VAULT_PASSWORD: 'secret', CI_BUILDER_REGISTRY: 'r' }),
      { HOME: '/root' },
    );
  });
});
