import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { configSchema } from '../../src/config/schema.js';
import { makePlan } from '../../src/plan/make-plan.js';
import { debianPackageInstall } from '../../src/render/kolla-methods.js';
import { mergeOverrides, overrideLineOrigins } from '../../src/render/overrides.js';
import { RenderError } from '../../src/render/renderer.js';
import type { TemplateVariables } from '../../src/render/variables.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { debianTemplateVariables, treeRenderer } from '../helpers/renderer.js';

const variables = (name: string): TemplateVariables =>
  debianTemplateVariables(name, { tag: 'zed-debian-bookworm-20260101T000000' });

const planConfig = configSchema.parse({
  release: 'zed',
  namespace: 'ns',
  images_dirs: ['images'],
  distros: { debian: { version: 'bookworm', package_type: 'deb', base_image: { image: 'debian', tag: 'bookworm' } } },
});

function render(files: Record<string, string>, name = 'a'): string {
  const catalog = discoverCatalog([writeTree(temporaryDir(), files)]);
  const image = catalog.images.get(name);
  assert.ok(image);
  return treeRenderer(catalog).render(image, variables(name));
}

describe('rendering', () => {
  it('imports macros.j2 with context and passes the Kolla variables', () => {
    const out = render({
      'macros.j2': '{% macro who() %}{{ image_name }} on {{ base_distro }}{% endmacro %}',
      'a/Dockerfile.j2':
        'FROM {{ base_image }}:{{ base_distro_tag }}\n{% import "macros.j2" as macros with context %}\nLABEL x="{{ macros.who() }}" tag="{{ tag }}" pm="{{ distro_package_manager }}"\n',
    });
    assert.equal(
      out,
      'FROM debian:bookworm\n\nLABEL x="a on debian" tag="zed-debian-bookworm-20260101T000000" pm="apt"',
    );
  });

  it('concatenates lists as Jinja2 does instead of joining them into a string', () => {
    const out = render({
      'a/Dockerfile.j2': "FROM x\n{% set p = ['a', 'b'] + ['c'] %}{{ p | length }} {{ p | join(',') }}",
    });
    assert.equal(out, 'FROM x\n3 a,b,c');
  });

  it('keeps numbers and strings adding as before', () => {
    assert.equal(render({ 'a/Dockerfile.j2': "FROM x\n{{ 1 + 2 }} {{ 'a' ~ 'b' }}" }), 'FROM x\n3 ab');
  });

  it('knows True, False, None and the sequence test', () => {
    const out = render({
      'a/Dockerfile.j2': "FROM x\n{% if True and not False %}yes{% endif %} {{ ['a'] is sequence }} {{ None is none }}",
    });
    assert.equal(out, 'FROM x\nyes True True');
  });

  it('does not escape HTML and drops one trailing newline', () => {
    assert.equal(
      render({ 'a/Dockerfile.j2': 'FROM x\nRUN echo "<a>" && true\n\n' }),
      'FROM x\nRUN echo "<a>" && true\n',
    );
  });

  it('fails with the image name and the template error', () => {
    assert.throws(
      () => render({ 'a/Dockerfile.j2': 'FROM x\n{% if %}' }),
      (error: unknown) =>
        error instanceof RenderError &&
        /^a: template error: \S+a\/Dockerfile\.j2:2: unexpected token/.test(error.message),
    );
    assert.throws(
      () => render({ 'a/Dockerfile.j2': "FROM x\n{{ raise_error('unsupported distro') }}" }),
      /^RenderError: a: template error: \S+a\/Dockerfile\.j2:2: unsupported distro$/,
    );
  });

  it('places a run-time error where it arose: a filter after an earlier call, a block of the parent', () => {
    assert.throws(
      () => render({ 'a/Dockerfile.j2': "FROM x\n{{ 'a'.upper() }}\n\n{{ 'b' | no_such_filter }}\n" }),
      /^RenderError: a: template error: \S+a\/Dockerfile\.j2:4: filter not found: no_such_filter$/,
    );
    const dir = writeTree(temporaryDir(), {
      'a/Dockerfile.j2': 'FROM x\n{% block body %}\nRUN one\n{{ nothing_to_call() }}\n{% endblock %}\n',
    });
    const image = discoverCatalog([dir]).images.get('a');
    assert.ok(image);
    assert.throws(
      () => treeRenderer(discoverCatalog([dir])).render(image, variables('a')),
      /^RenderError: a: template error: \S+a\/Dockerfile\.j2:4: Unable to call `nothing_to_call`/,
    );
  });

  it('traces an error in a template override to the override file and its line, several files merged', () => {
    const dir = writeTree(temporaryDir(), {
      'a/Dockerfile.j2': 'FROM x\n{% block one %}{% endblock %}\n{% block two %}{% endblock %}\n',
    });
    const first = '# Ansible managed\n\n{% extends parent_template %}\n{% block one %}\nRUN ok\n{% endblock %}\n';
    const second = '{% extends parent_template %}\n\n{% block two %}\nRUN {{ missing_macro() }}\n{% endblock %}\n';
    const inputs = { files: [first, second], blocks: {}, customizations: {} };
    const catalog = discoverCatalog([dir]);
    const image = catalog.images.get('a');
    assert.ok(image);
    const renderer = treeRenderer(catalog, {
      override: mergeOverrides(inputs),
      overrideOrigins: overrideLineOrigins(inputs, ['/etc/kolla/first.j2', '/etc/kolla/second.j2']),
    });
    assert.throws(
      () => renderer.render(image, variables('a')),
      /^RenderError: a: template error: \/etc\/kolla\/second\.j2:4: Unable to call `missing_macro`/,
    );
    const origins = overrideLineOrigins(
      { files: [first], blocks: { footer: 'RUN a\nRUN b' }, customizations: { x: 1 } },
      ['o.j2'],
    );
    assert.deepEqual(origins.slice(5), [
      'o.j2:6',
      'build.blocks.footer in the config',
      'build.blocks.footer in the config',
      'build.blocks.footer in the config',
      'build.blocks.footer in the config',
      'build.customizations.x in the config',
    ]);
  });

  it('names the template place of an error raised in a macro, on one line', () => {
    const files = {
      'macros.j2':
        "{% macro user(name) %}{% if name != 'keystone' %}{{ raise_error('no ' ~ name ~ ' user') }}{% endif %}{% endmacro %}",
      'a/Dockerfile.j2': 'FROM x\n{% import "macros.j2" as macros with context %}\n{{ macros.user("etcd") }}\n',
    };
    assert.throws(
      () => render(files),
      (error: unknown) =>
        error instanceof RenderError &&
        /^a: template error: \S+\/macros\.j2:1: no etcd user$/.test(error.message) &&
        !error.message.includes('\n'),
    );
  });

  it("points a Kolla template's missing-user error at ci-builder's users table", () => {
    assert.throws(
      () =>
        render({
          'a/Dockerfile.j2':
            "FROM x\n{{ raise_error(\"Failed to find configuration for 'etcd' user. Try specifying 'etcd-user' config section.\") }}",
        }),
      /etcd-user' config section\. \(in ci-builder: users\.etcd in the config\)$/,
    );
  });

  it('repeats lists and strings with * and spreads a list into format(*args), as Jinja2 does', () => {
    const out = render({
      'a/Dockerfile.j2':
        "FROM x\n{% set plugins = ['x', 'y'] %}RUN {{ (['install %s'] * plugins | length) | join(' && ') | format(*plugins) }}\n{{ '-' * 3 }} {{ 2 * 3 }} {{ '%s=%d%%' | format('a', 5) }}\n",
    });
    assert.equal(out, 'FROM x\nRUN install x && install y\n--- 6 a=5%');
  });

  it("calls Python's dict and string methods, not JavaScript's look-alikes", () => {
    const out = render({
      'a/Dockerfile.j2':
        "FROM x\n{% set d = {'a': 1, 'b': 2} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys() | list }} {{ d.get('c', 'none') }} {{ d.get('a') }}\n" +
        "{{ 'a-b-c'.replace('-', '_') }} {{ 'a-b-c'.replace('-', '_', 1) }} {{ '  x  y '.split() }} {{ 'a,b,,c'.split(',', 2) }} {{ 'xxhixx'.strip('x') }} {{ 'nova-api'.startswith(('cinder', 'nova')) }}\n",
    });
    assert.equal(out, "FROM x\na=1;b=2; ['a', 'b'] none 1\na_b_c a_b-c ['x', 'y'] ['a', 'b', ',c'] hi True");
  });

  it("reads string literals' backslash escapes as Python does, as Kayobe's to_json writes them", () => {
    const out = render({
      'a/Dockerfile.j2': String.raw`FROM x
{{ "caf\u00e9 \x41\101 \d \\ \'q\' a\tb" }}|{{ 'it\'s "\u00e9"' }}|{% set l = ["python3-\u00e9", "a\\b"] %}{{ l }}
`,
    });
    // What Jinja2 3 renders from the same template.
    assert.equal(
      out,
      String.raw`FROM x
café AA \d \ 'q' a` +
        '\t' +
        String.raw`b|it's "é"|['python3-é', 'a\\b']`,
    );
  });

  it("reads null as Jinja2 does (a name, undefined) and joins with ~ as Python's str(), undefined as ''", () => {
    const out = render({
      'a/Dockerfile.j2':
        'FROM x\n{% set y = null %}{{ [nothing, none, null] }} {{ y is defined }} {{ y is none }} ' +
        '{{ "null" ~ nothing ~ none ~ true ~ [1, "a"] ~ 2 }} {{ {"a": null, "null": 1} }}\n',
    });
    // What Jinja2 3 renders from the same template.
    assert.equal(
      out,
      "FROM x\n[Undefined, None, Undefined] False False nullNoneTrue[1, 'a']2 {'a': Undefined, 'null': 1}",
    );
  });

  it("has Jinja2's map and unique filters, as override blocks use them", () => {
    const out = render({
      'a/Dockerfile.j2':
        'FROM x\n{% set r = [{"url": "a", "c": ["m", "n"]}, {"url": "b"}] %}' +
        '{{ r | map(attribute="url") | list }} {{ r | map(attribute="c.1", default="z") | list }} ' +
        '{{ ["a", "B"] | map("upper") | join(",") }} {{ ["x-y"] | map("replace", "-", "_") | list }} ' +
        '{{ ["a", "A", "b", "a"] | unique | list }} {{ ["a", "A", "b"] | unique(case_sensitive=true) | list }} ' +
        '{{ r | unique(attribute="url") | map(attribute="url") | join }}\n',
    });
    // What Jinja2 3 renders from the same template.
    assert.equal(out, "FROM x\n['a', 'b'] ['n', 'z'] A,B ['x_y'] ['a', 'b'] ['a', 'A', 'b'] ab");
  });

  it('prints values as Jinja2 does: None, True/False, lists and dicts in Python form', () => {
    const out = render({
      'a/Dockerfile.j2': "FROM x\n{{ None }} {{ True }} {{ ['a', \"it's\"] }} {{ {'k': [1, None]} }} {{ nothing }}|\n",
    });
    assert.equal(out, "FROM x\nNone True ['a', \"it's\"] {'k': [1, None]} |");
  });
});

describe('template overrides and customizations', () => {
  const tree = {
    'macros.j2': '',
    'keystone-base/Dockerfile.j2': [
      'FROM x',
      '{% block keystone_base_header %}{% endblock %}',
      "{% set keystone_base_packages = ['keystone', 'apache2',] %}",
      "RUN install {{ keystone_base_packages | customizable('packages') | join(' ') }}",
      '{% block keystone_base_footer %}{% endblock %}',
    ].join('\n'),
  };
  const renderWith = (override: string | undefined) => {
    const catalog = discoverCatalog([writeTree(temporaryDir(), tree)]);
    const image = catalog.images.get('keystone-base');
    assert.ok(image);
    return treeRenderer(catalog, { override }).render(image, variables('keystone-base'));
  };

  it('accepts Jinja2 trailing commas in tags', () => {
    assert.equal(renderWith(undefined), 'FROM x\n\n\nRUN install keystone apache2\n');
  });

  it('applies blocks and _append/_remove/_override customizations as Kayobe writes them', () => {
    const override = mergeOverrides({
      files: [],
      blocks: { keystone_base_footer: 'RUN echo footer' },
      customizations: { keystone_base_packages_append: ['python3-ldap'], keystone_base_packages_remove: ['apache2'] },
    });
    assert.equal(
      override,
      '{% extends parent_template %}\n{% block keystone_base_footer %}\nRUN echo footer\n{% endblock %}\n{% set keystone_base_packages_append = ["python3-ldap"] %}\n{% set keystone_base_packages_remove = ["apache2"] %}\n',
    );
    assert.equal(renderWith(override), 'FROM x\n\n\nRUN install keystone python3-ldap\n\nRUN echo footer\n');
    const replaced = mergeOverrides({
      files: [],
      blocks: {},
      customizations: { keystone_base_packages_override: ['only-this'] },
    });
    assert.match(renderWith(replaced), /RUN install only-this\n/);
  });

  it("changes the template's own list as Kolla's filter does: reading it again sees the customization", () => {
    const override = [
      '# Ansible managed\n\n{% extends parent_template %}\n\n',
      '{% block keystone_base_footer %}\nRUN echo {{ keystone_base_packages | join(",") }}\n{% endblock %}\n\n',
      '{% set keystone_base_packages_append = ["python3-ldap"] %}\n\n',
      '{% set keystone_base_packages_remove = ["keystone"] %}\n\n',
    ].join('');
    // What Jinja2 renders with Kolla's filter (test/golden/render_with_jinja2.py).
    assert.equal(
      renderWith(override),
      '# Ansible managed\n\nFROM x\n\n\nRUN install apache2 python3-ldap\n\nRUN echo apache2,python3-ldap\n',
    );
  });

  it('merges override files as kolla-build does: later files lose their extends line, super() works', () => {
    const merged = mergeOverrides({
      files: [
        '{% extends parent_template %}\n{% block keystone_base_header %}RUN first{% endblock %}\n',
        '{% extends parent_template %}\n{% block keystone_base_footer %}{{ super() }}RUN second{% endblock %}\n',
      ],
      blocks: {},
      customizations: {},
    });
    assert.equal((merged?.match(/extends/g) ?? []).length, 1);
    assert.equal(renderWith(merged), 'FROM x\nRUN first\n\nRUN install keystone apache2\nRUN second');
  });
});

describe("Kolla's template methods", () => {
  it('debian_package_install installs repository packages and .deb URLs as Kolla writes it', () => {
    assert.equal(
      debianPackageInstall(['a', 'b']),
      'apt-get --error-on=any update && apt-get -y install --no-install-recommends a b && apt-get clean && rm -rf /var/lib/apt/lists/*',
    );
    assert.equal(
      debianPackageInstall(['a'], false),
      'apt-get --error-on=any update && apt-get -y install --no-install-recommends a',
    );
    assert.equal(
      debianPackageInstall(['https://example.org/x/tool_1.0_amd64.deb']),
      'curl --location https://example.org/x/tool_1.0_amd64.deb -o tool_1.0_amd64.deb && dpkg -i tool_1.0_amd64.deb && rm -rf tool_1.0_amd64.deb',
    );
    assert.equal(debianPackageInstall([]), '');
  });
});

describe('compiled templates kept between runs', () => {
  it('renders the same from the cache, recompiles a changed template, and survives a damaged cache file', async () => {
    const macros = '{% macro hi() %}hi {{ image_name }}{% endmacro %}';
    const template = 'FROM x\n{% import "macros.j2" as macros with context %}{{ macros.hi() }} {{ [1] + [2] }}\n';
    const tree = writeTree(temporaryDir(), { 'macros.j2': macros, 'a/Dockerfile.j2': template });
    const cacheDir = temporaryDir();
    const kept = join(cacheDir, 'templates');
    const renderOnce = async () => {
      const plan = await makePlan({
        config: planConfig,
        catalog: discoverCatalog([tree]),
        distro: 'debian',
        tag: 't',
        engine: 'buildah',
        selection: { regexes: null, skipParents: false },
        cacheDir,
        fetchSources: false,
      });
      return plan.images[0]?.dockerfile;
    };
    assert.equal(await renderOnce(), 'FROM x\nhi a [1, 2]');
    const files = readdirSync(kept);
    assert.equal(files.length, 2, 'the template and macros.j2 are kept compiled');
    assert.equal(await renderOnce(), 'FROM x\nhi a [1, 2]');
    assert.deepEqual(readdirSync(kept), files, 'nothing compiled again');
    writeFileSync(join(tree, 'a/Dockerfile.j2'), 'FROM y\n');
    assert.equal(await renderOnce(), 'FROM y');
    for (const file of readdirSync(kept)) writeFileSync(join(kept, file), 'this is not javascript (');
    writeFileSync(join(tree, 'a/Dockerfile.j2'), template);
    assert.equal(await renderOnce(), 'FROM x\nhi a [1, 2]');
  });
});
