import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dependencyDot, dotId } from '../../src/kolla/dependency-dot.js';
import { pythonJson } from '../../src/report/kolla-summary.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir } from '../helpers/index.js';

/** Runs Python (Debian's, where the graphviz module is installed) on a JSON input; returns what it printed. */
function python(program: string, input: unknown): string {
  return execFileSync('/usr/bin/python3', ['-c', program], { input: JSON.stringify(input), encoding: 'utf8' });
}

const summary = {
  built: [{ name: 'base' }, { name: 'démo' }],
  failed: [{ name: 'failing', status: 'error' }],
  not_matched: [],
  skipped: [],
  unbuildable: [{ name: 'broken' }],
};

describe("kolla-build's output formats, compared with what Python itself writes", () => {
  it('the summary JSON: json.dump on stdout, json.dump(indent=4) in the file, byte for byte', () => {
    const dump = 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout)';
    const indented = 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=4)';
    assert.equal(pythonJson(summary), python(dump, summary));
    assert.equal(pythonJson(summary, 4), python(indented, summary));
    const nested = { a: { b: [1, 2.5, true, null, 'x"y'] }, c: {} };
    assert.equal(pythonJson(nested, 4), python(indented, nested));
  });

  it('--save-dependency: the Graphviz source the graphviz library writes for the same images', () => {
    const images = [
      { name: 'base', parent: null },
      { name: 'openstack-base', parent: 'base' },
      { name: 'keystone', parent: 'openstack-base' },
      { name: 'node', parent: 'base' },
      { name: '2fa', parent: 'base' },
      { name: 'x_y1', parent: 'base' },
    ];
    const program = [
      'import graphviz, json, sys',
      "dot = graphviz.Digraph(comment='Container Images Dependency')",
      "dot.body.extend(['rankdir=LR'])",
      'for image in json.load(sys.stdin):',
      "    dot.node(image['name'])",
      "    if image['parent'] is not None: dot.edge(image['parent'], image['name'])",
      'sys.stdout.write(dot.source)',
    ].join('\n');
    assert.equal(dependencyDot(images), python(program, images));
    assert.deepEqual(['base', 'open-stack', 'node', '12', '1a'].map(dotId), [
      'base',
      '"open-stack"',
      '"node"',
      '12',
      '"1a"',
    ]);
  });

  it('ci-builder kolla-build --save-dependency writes the selected images and exits', async () => {
    const file = join(temporaryDir(), 'deps.dot');
    const checkout = join(projectRoot, 'test/fixtures/kolla-checkout-render');
    const args = ['kolla-build', '--kolla-dir', checkout, '--save-dependency', file, 'node'];
    const result = await runCli(args, { cwd: temporaryDir(), env: { PBR_VERSION: '2.0.0' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(
      readFileSync(file, 'utf8'),
      '// Container Images Dependency\ndigraph {\nrankdir=LR\tbase\n\t"prom-base"\n\tbase -> "prom-base"\n' +
        '\t"prom-node"\n\t"prom-base" -> "prom-node"\n}\n',
    );
  });
});
