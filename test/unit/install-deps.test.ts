import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

describe('scripts/install-deps.sh', () => {
  it("installs the npm dependencies with nothing on stdout, which is scripts/kolla-build's summary", () => {
    // A checkout without node_modules, an `npm` that answers as `npm ci` does, on stdout, and an
    // `apt-get` that installs nothing, whatever this host lacks.
    const checkout = temporaryDir('ci-builder-install-deps-');
    for (const file of ['scripts/install-deps.sh', 'package.json', 'package-lock.json'])
      cpSync(join(projectRoot, file), join(checkout, file));
    const bin = writeTree(join(checkout, 'fake-bin'), {
      npm: '#!/bin/sh\nprintf "\\nadded 112 packages in 10s\\n"\n',
      'apt-get': '#!/bin/sh\nexit 0\n',
    });
    for (const tool of ['npm', 'apt-get']) chmodSync(join(bin, tool), 0o755);
    mkdirSync(join(checkout, 'node_modules'));
    const result = spawnSync('bash', ['scripts/install-deps.sh'], {
      cwd: checkout,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /added 112 packages/);
  });
});
