import assert from 'node:assert/strict';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir } from '../helpers/files.js';

/**
 * Reading a Kolla checkout (its tables with Python) runs nothing the checkout brings: not a module beside
 * it named like one of the standard library's. Every planted program leaves a marker file when it runs.
 */

const fixture = join(projectRoot, 'test/fixtures/kolla-checkout-render');

function checkoutCopy(): { top: string; checkout: string } {
  const top = temporaryDir('kolla-runs-nothing-');
  const checkout = join(top, 'kolla');
  cpSync(fixture, checkout, { recursive: true });
  return { top, checkout };
}

function markersIn(top: string): string[] {
  return readdirSync(top).filter((name) => name.startsWith('ran-'));
}

describe('reading a checkout runs none of its Python', () => {
  it('imports no ast.py, json.py, glob.py or os.py of the checkout or the current folder', async () => {
    const { top, checkout } = checkoutCopy();
    for (const module of ['ast', 'json', 'glob', 'os', 'sitecustomize', 'usercustomize']) {
      writeFileSync(join(checkout, `${module}.py`), `open(${JSON.stringify(join(top, `ran-${module}`))}, 'w')\n`);
    }
    // As reported: from inside the checkout, `--kolla-dir .`; PYTHONPATH naming it changes nothing either.
    const result = await runCli(['kolla-build', '--kolla-dir', '.', '--list-images'], {
      cwd: checkout,
      env: { PBR_VERSION: '2.0.0', PYTHONPATH: checkout },
    });
    assert.deepEqual(markersIn(top), []);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['1 : base', '2 : demo', '3 : prom-base', '4 : prom-node']);
  });
});
