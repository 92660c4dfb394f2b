import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { compileTemplate, evaluateCompiledTemplate } from '../../src/render/compiled-cache.js';
import { environmentOptions } from '../../src/render/renderer.js';
import { UsageError } from '../../src/util/errors.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';
import { debianTemplateVariables, treeRenderer } from '../helpers/renderer.js';

/**
 * Templates come from image trees, Kolla checkouts and template overrides an operator did not write:
 * rendering one must run nothing on the build host. Each escape known for nunjucks (and the ones its
 * compiler adds) is tried; each must end in one line that names the template, and leave no marker.
 */

const variables = debianTemplateVariables('a', { env: { HOME: '/root' } });

/** JavaScript that leaves a file behind if it ever runs. */
const code = (marker: string) => `return process.getBuiltinModule('child_process').execSync('id > ${marker}')`;

interface Escape {
  name: string;
  /** The template text, given the code to run and the marker it writes. */
  template: (code: string, marker: string) => string;
  /** What the refusal says. */
  says: RegExp;
}

const refusedConstructor = /attribute "constructor" of .* is refused/;

const escapes: Escape[] = [
  {
    name: 'the range global (the reported payload)',
    template: (js) => `{% set x = range.constructor("${js}")() %}`,
    says: /attribute "constructor" of a function is refused/,
  },
  { name: 'the cycler global', template: (js) => `{{ cycler.constructor("${js}")() }}`, says: refusedConstructor },
  { name: 'the joiner global', template: (js) => `{{ joiner.constructor("${js}")() }}`, says: refusedConstructor },
  { name: 'what joiner returns', template: (js) => `{{ joiner().constructor("${js}")() }}`, says: refusedConstructor },
  {
    name: "a cycler's own method",
    template: (js) => `{{ cycler(1, 2).next.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'the loop variable',
    template: (js) => `{% for i in [1] %}{{ loop.constructor.constructor("${js}")() }}{% endfor %}`,
    says: /attribute "constructor" of a mapping is refused/,
  },
  {
    name: "a macro's caller",
    template: (js) => `{% macro m() %}{{ caller.constructor("${js}")() }}{% endmacro %}{% call m() %}x{% endcall %}`,
    says: refusedConstructor,
  },
  {
    name: 'a string literal',
    template: (js) => `{{ "".constructor.constructor("${js}")() }}`,
    says: /attribute "constructor" of a string is refused/,
  },
  { name: 'a list literal', template: (js) => `{{ [].constructor.constructor("${js}")() }}`, says: refusedConstructor },
  {
    name: 'a dict literal',
    template: (js) => `{% set d = {"a": 1} %}{{ d.constructor.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'a number',
    template: (js) => `{{ (1).constructor.constructor("${js}")() }}`,
    says: /of a number is refused/,
  },
  { name: 'a boolean global', template: (js) => `{{ True.constructor("${js}")() }}`, says: /of a boolean is refused/ },
  {
    name: 'a regular expression literal',
    template: (js) => `{{ r/x/.constructor.constructor("${js}")() }}`,
    says: /of a RegExp object is refused/,
  },
  {
    name: 'a render value (env)',
    template: (js) => `{{ env.constructor.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: "Object.prototype's constructor as a bare name",
    template: (js) => `{{ constructor.constructor("${js}")() }}`,
    says: /Unable to call `constructor\["constructor"\]`, which is undefined/,
  },
  {
    name: "Object.prototype's valueOf as a bare name (the render's context)",
    template: () => '{% set c = valueOf() %}{{ c.env.globals.range }}',
    says: /Unable to call `valueOf`, which is undefined/,
  },
  {
    name: '__proto__ of a string',
    template: (js) => `{{ "".__proto__.constructor.constructor("${js}")() }}`,
    says: /attribute "__proto__" of a string is refused/,
  },
  {
    name: '__lookupGetter__ of a mapping',
    template: () => '{% set d = {} %}{{ d.__lookupGetter__("__proto__")() }}',
    says: /attribute "__lookupGetter__" of a mapping is refused/,
  },
  {
    name: '__proto__ set as a variable',
    template: (js) => `{% set __proto__ = range %}{{ call.constructor("${js}")() }}`,
    says: /Unable to call `call\["constructor"\]`, which is undefined/,
  },
  {
    name: '__proto__ as a dict key',
    template: (js) => `{% set d = {"__proto__": range} %}{{ d.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: "a function's call, apply and bind",
    template: (js) => `{{ range.call.constructor("${js}")() }}`,
    says: /attribute "call" of a function is refused/,
  },
  {
    name: 'a Python method of a mapping',
    template: (js) => `{% set d = {"a": 1} %}{{ d.items.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'a Python method of a string',
    template: (js) => `{{ "a".split.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: "ci-builder's globals",
    template: (js) =>
      `{{ handle_repos.constructor("${js}")() }}{{ debian_package_install.constructor("${js}")() }}` +
      `{{ raise_error.constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'a mapping handed to debian_package_install (its own filter)',
    template: () => '{{ debian_package_install({"filter": joiner}) }}',
    says: /debian_package_install: packages must be a list of package names/,
  },
  {
    name: 'the map filter by attribute',
    template: (js) => `{{ ([range] | map(attribute="constructor") | first)("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'the unique filter by attribute',
    template: (js) => `{{ ([range] | unique(attribute="constructor") | first).constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  {
    name: 'the attr filter',
    template: (js) => `{{ (range | attr("constructor"))("${js}")() }}`,
    says: /filter not found: attr/,
  },
  {
    name: 'groupby by an attribute',
    template: (js) => `{% for key, items in [range] | groupby("constructor") %}{{ key("${js}")() }}{% endfor %}`,
    says: /Unable to call `key`, which is not a function/,
  },
  {
    name: 'sum by an attribute',
    template: (js) => `{{ ([range] | sum("constructor"))("${js}")() }}`,
    says: /which is not a function/,
  },
  {
    name: 'selectattr, then the item',
    template: (js) => `{{ ([range] | selectattr("length") | first).constructor("${js}")() }}`,
    says: refusedConstructor,
  },
  { name: 'a filter called constructor', template: (js) => `{{ "${js}" | constructor }}`, says: /filter not found/ },
  {
    name: 'a filter called __defineGetter__',
    template: () => '{{ "lookup" | __defineGetter__(joiner) }}{{ x }}',
    says: /filter not found: __defineGetter__/,
  },
  {
    name: 'a test called constructor',
    template: () => '{% if "x" is constructor %}x{% endif %}',
    says: /test not found: constructor/,
  },
  {
    name: 'select by a test called constructor',
    template: () => '{{ [1] | select("constructor") }}',
    says: /test not found/,
  },
  {
    name: 'importing constructor from a template named by an expression',
    template: (js) => `{% set m = "macros.j2" %}{% from m import constructor %}{{ constructor("${js}") }}`,
    says: /does not export constructor/,
  },
  {
    name: 'importing constructor from a template named literally',
    template: (js) => `{% from "macros.j2" import constructor %}{{ constructor("${js}") }}`,
    says: /cannot import 'constructor'/,
  },
  {
    name: "code written into the compiled template through a called name's quotes",
    template: (_js, marker) =>
      `{{ x["\\\\\\"+(process.getBuiltinModule('child_process').execSync('id > ${marker}'),1)+'"]("'))); //") }}`,
    says: /Unable to call `x\[.*\]`, which is undefined/,
  },
];

function assertNothingRan(marker: string, what = 'the template'): void {
  if (existsSync(marker)) assert.fail(`${what} ran code on the host: ${readFileSync(marker, 'utf8')}`);
}

function workspace(dockerfile: string): { tree: string; marker: string } {
  const top = temporaryDir();
  const tree = writeTree(join(top, 'tree'), { 'macros.j2': '{% macro m() %}m{% endmacro %}', 'a/Dockerfile.j2': '' });
  writeFileSync(join(tree, 'a/Dockerfile.j2'), dockerfile);
  return { tree, marker: join(top, 'marker') };
}

/** Renders image `a`; returns the refusal's message after checking it is one UsageError line and nothing ran. */
function refusal(tree: string, marker: string, override?: string): string {
  const catalog = discoverCatalog([tree]);
  const image = catalog.images.get('a');
  assert.ok(image);
  let message = '';
  assert.throws(
    () => treeRenderer(catalog, override === undefined ? {} : { override }).render(image, variables),
    (error: Error) => {
      message = error.message;
      return error instanceof UsageError;
    },
  );
  assertNothingRan(marker);
  assert.equal(message.split('\n').length, 1, message);
  return message;
}

describe('templates run nothing on the host', () => {
  for (const escape of escapes) {
    it(`refuses an escape through ${escape.name}, in one line naming the template`, () => {
      const { tree, marker } = workspace('x');
      writeFileSync(join(tree, 'a/Dockerfile.j2'), `FROM x\n${escape.template(code(marker), marker)}\n`);
      const message = refusal(tree, marker);
      assert.match(message, /^a: template error: \S*\/tree\/a\/Dockerfile\.j2(:\d+)?: /);
      assert.match(message, escape.says);
    });
  }

  it('refuses the same escapes from a template override, naming its line', () => {
    for (const escape of escapes.slice(0, 3)) {
      const { tree, marker } = workspace('FROM x\n');
      const override = `{% extends parent_template %}\n{% block x %}{% endblock %}\n${escape.template(code(marker), marker)}\n`;
      // Text outside blocks of a child template is not rendered: the escape goes into a set, which is.
      const message = refusal(tree, marker, override.replace(/\{\{ (.*) \}\}\n$/, '{% set y = $1 %}\n'));
      assert.match(message, /^a: template error: template override:3: /);
      assert.match(message, escape.says);
    }
  });

  it('refuses a name the compiler would have written into its code, before running anything', () => {
    // nunjucks reads `x"&&Function`…```&&"` as one name and writes it between double quotes.
    const source = 'FROM x\n{{ x"&&Function`globalThis\\x2esandboxEscaped\\x3d1```&&" }}';
    assert.throws(
      () => evaluateCompiledTemplate(compileTemplate('a/Dockerfile.j2', source, environmentOptions)),
      /^Error: \(a\/Dockerfile\.j2:2\) .*"x\\"&&Function.*" is not a name/,
    );
    assert.equal((globalThis as { sandboxEscaped?: number }).sandboxEscaped, undefined);
  });

  it('still renders what Kolla templates do: own data, Python methods, globals, macros, cycler', () => {
    const { tree, marker } = workspace('');
    writeFileSync(
      join(tree, 'a/Dockerfile.j2'),
      [
        'FROM x',
        '{% import "macros.j2" as macros %}{% set c = cycler("x", "y") %}',
        '{% set d = {"k": [1, 2], "__keys": "own"} %}',
        '{{ d.k[1] }} {{ d["__keys"] }} {{ d.items() | list | length }} {{ "a-b".replace("-", "_") }}',
        '{{ macros.m() }} {{ c.next() }}{{ c.next() }} {{ range(3) | join(",") }} {{ d.missing is defined }}',
        '{{ "abc"[1] }} {{ "abc".length }} {{ [range] | length }} {{ debian_package_install(["p"]) }}',
      ].join('\n'),
    );
    const catalog = discoverCatalog([tree]);
    const image = catalog.images.get('a');
    assert.ok(image);
    assert.equal(
      treeRenderer(catalog).render(image, variables),
      'FROM x\n\n\n2 own 2 a_b\nm xy 0,1,2 False\nb 3 1 apt-get --error-on=any update && ' +
        'apt-get -y install --no-install-recommends p && apt-get clean && rm -rf /var/lib/apt/lists/*',
    );
    assertNothingRan(marker);
  });
});

describe('ci-builder images render runs nothing on the host', () => {
  const payload = (marker: string) => `{% set x = range.constructor("${code(marker)}")() %}\n`;

  it('through an image tree, a Kolla checkout and a template override: one line naming the template', async () => {
    const top = temporaryDir();
    const marker = join(top, 'marker');
    const tree = writeTree(join(top, 'tree'), { 'macros.j2': '', 'a/Dockerfile.j2': `FROM x\n${payload(marker)}` });
    const checkout = join(top, 'kolla');
    cpSync(join(projectRoot, 'test/fixtures/kolla-checkout-render'), checkout, { recursive: true });
    const demo = join(checkout, 'docker/demo/Dockerfile.j2');
    writeFileSync(demo, `${readFileSync(demo, 'utf8')}${payload(marker)}`);
    const override = join(top, 'override.j2');
    writeFileSync(override, `{% extends parent_template %}\n${payload(marker)}`);
    const cwd = temporaryDir();
    const env = { PBR_VERSION: '2.0.0' };
    const runs: [string[], RegExp][] = [
      [['--images-dir', tree, '^a$'], /error: a: template error: \S*\/tree\/a\/Dockerfile\.j2:2: access/],
      [
        ['--kolla-dir', checkout, '--distro', 'alpha'],
        /error: demo: template error: \S*\/demo\/Dockerfile\.j2:\d+: access/,
      ],
      [
        ['--kolla-dir', join(projectRoot, 'test/fixtures/kolla-checkout-render'), '--distro', 'alpha'],
        /error: \S+: template error: \S*override\.j2:2: access/,
      ],
    ];
    for (const [args, says] of runs) {
      const overriding = args === runs[2]?.[0] ? ['--template-override', override] : [];
      const result = await runCli(['images', 'render', ...args, ...overriding, '--out', join(top, 'out')], {
        cwd,
        env,
      });
      assertNothingRan(marker, args.join(' '));
      assert.notEqual(result.code, 0, result.stderr);
      const errors = result.stderr.split('\n').filter((line) => line.includes('error:'));
      assert.ok(errors.length > 0 && errors.every((line) => says.test(line)), result.stderr);
    }
  });
});
