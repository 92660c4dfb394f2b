import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { mergeOverrides } from '../../src/render/overrides.js';
import { Renderer } from '../../src/render/renderer.js';
import type { TemplateVariables } from '../../src/render/variables.js';
import { projectRoot } from '../helpers/files.js';

const variables: TemplateVariables = {
  image_name: '',
  base_distro: 'debian',
  base_distro_tag: 'bookworm-0123456789ab',
  base_image: 'localhost/ci-builder/bootstrap-debian',
  base_package_type: 'deb',
  distro_package_manager: 'apt',
  base_arch: 'x86_64',
  namespace: '127.0.0.1:5000/ci-builder-dev',
  image_prefix: '',
  tag: 'zed-debian-bookworm-20261125T000000',
  maintainer: 'ci-builder',
  release: 'zed',
};

/** What Debian's python3-jinja2, set up as kolla-build sets it up, renders for the same inputs. */
function jinja2Render(tree: string, images: Record<string, string>, override: string | undefined): Record<string, string> {
  const input = JSON.stringify({ tree, images, variables, override: override ?? null });
  return JSON.parse(execFileSync('/usr/bin/python3', [join(projectRoot, 'test/golden/render_with_jinja2.py')], { input, encoding: 'utf8' })) as Record<string, string>;
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
        customizations: { nova_api_packages_append: ['python3-ldap'], keystone_packages_remove: ['apache2'], horizon_packages_override: ['openstack-dashboard'] },
      }),
    ],
  ] as const) {
    it(label, () => {
      const expected = jinja2Render(tree, images, override);
      const renderer = new Renderer(catalog, { override });
      for (const image of catalog.images.values()) {
        assert.equal(renderer.render(image, { ...variables, image_name: image.name }), expected[image.name], image.name);
      }
      if (override !== undefined) {
        // The customizations took effect (so the comparison above compared something).
        assert.match(expected['nova-api'] ?? '', /install -y --no-install-recommends nova-api python3-ldap /);
        assert.match(expected.keystone ?? '', /--no-install-recommends keystone libapache2-mod-wsgi-py3 /);
        assert.match(expected.base ?? '', /RUN echo "site header"/);
      }
    });
  }
});
