import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { mergeOverrides } from '../../src/render/overrides.js';
import type { TemplateVariables } from '../../src/render/variables.js';
import { projectRoot } from '../helpers/files.js';
import { treeRenderer } from '../helpers/renderer.js';

const variables: TemplateVariables = {
  image_name: '',
  base_distro: 'debian',
  base_distro_tag: 'bookworm-0123456789ab',
  base_image: 'localhost/ci-builder/bootstrap-debian',
  base_package_type: 'deb',
  distro_package_manager: 'apt',
  base_arch: 'x86_64',
  debian_arch: 'amd64',
  namespace: '127.0.0.1:5000/ci-builder-dev',
  image_prefix: '',
  tag: 'zed-debian-bookworm-20261125T000000',
  maintainer: 'ci-builder',
  release: 'zed',
};

/** What Debian's python3-jinja2, set up as kolla-build sets it up, renders for the same inputs. */
function jinja2Render(
  tree: string,
  images: Record<string, string>,
  override: string | undefined,
  values: TemplateVariables = variables,
): Record<string, string> {
  const input = JSON.stringify({ tree, images, variables: values, override: override ?? null });
  return JSON.parse(
    execFileSync('/usr/bin/python3', [join(projectRoot, 'test/golden/render_with_jinja2.py')], {
      input,
      encoding: 'utf8',
    }),
  ) as Record<string, string>;
}

describe('rendering is byte-identical to Jinja2', { timeout: 120_000 }, () => {
  const tree = join(projectRoot, 'images');
  const catalog = discoverCatalog([tree]);
  const images = Object.fromEntries([...catalog.images.values()].map((image) => [image.name, image.templateName]));

  for (const [label, override] of [
    ['the bundled library as it is', undefined],
    [
      'the bundled library with Kayobe-style blocks and customizations',
      mergeOverrides({
        files: [],
        blocks: { base_header: 'RUN echo "site header"', nova_api_footer: 'RUN echo nova-api footer' },
        customizations: {
          nova_api_packages_append: ['python3-ldap'],
          keystone_packages_remove: ['apache2'],
          horizon_packages_override: ['openstack-dashboard'],
        },
      }),
    ],
  ] as const) {
    it(label, () => {
      const expected = jinja2Render(tree, images, override);
      const renderer = treeRenderer(catalog, { override });
      for (const image of catalog.images.values()) {
        assert.equal(
          renderer.render(image, { ...variables, image_name: image.name }),
          expected[image.name],
          image.name,
        );
      }
      if (override !== undefined) {
        // The customizations took effect (so the comparison above compared something).
        assert.match(expected['nova-api'] ?? '', /install -y --no-install-recommends nova-api python3-ldap /);
        assert.match(expected.keystone ?? '', /--no-install-recommends keystone libapache2-mod-wsgi-py3 /);
        assert.match(expected.base ?? '', /RUN echo "site header"/);
      }
    });
  }

  it('a Kolla-style fixture tree: macros with defaults and context, users table, loop.last, whitespace control, list * n, format(*args), printed lists and None', () => {
    const fixture = join(projectRoot, 'test/fixtures/kolla-style');
    const fixtureCatalog = discoverCatalog([fixture]);
    const fixtureImages = Object.fromEntries(
      [...fixtureCatalog.images.values()].map((image) => [image.name, image.templateName]),
    );
    const values: TemplateVariables = {
      ...variables,
      debian_arch: 'amd64',
      use_dumb_init: true,
      openstack_release: 'zed',
      openstack_release_codename: 'Zed',
      users: {
        kolla: { uid: 42400, gid: 42400, group: 'kolla' },
        service: { uid: 42499, gid: 42499, group: 'service' },
      },
    };
    const override = mergeOverrides({
      files: [],
      blocks: { service_api_footer: 'USER root' },
      customizations: { service_api_packages_remove: ['apache2'], base_packages_append: ['vim'] },
    });
    for (const variant of [undefined, override]) {
      const expected = jinja2Render(fixture, fixtureImages, variant, values);
      const renderer = treeRenderer(fixtureCatalog, { override: variant });
      for (const image of fixtureCatalog.images.values())
        assert.equal(renderer.render(image, { ...values, image_name: image.name }), expected[image.name], image.name);
    }
    const rendered = jinja2Render(fixture, fixtureImages, override, values);
    // The fixture exercised what it claims to (so equal output is not equal emptiness).
    assert.match(
      rendered['service-base'] ?? '',
      /RUN service-plugin install alpha && service-plugin install beta && service-plugin install gamma\n/,
    );
    assert.match(rendered['service-api'] ?? '', /# \['service-api', 'python3-wsgi'\] 2 None True/);
    assert.match(rendered.base ?? '', /apt-get install -y ca-certificates curl sudo vim\n/);
    assert.match(rendered.base ?? '', /useradd --uid 42499 --gid 42499 --home-dir \/var\/lib\/service service/);
  });
});
