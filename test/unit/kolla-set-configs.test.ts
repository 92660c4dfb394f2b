import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

const script = join(projectRoot, 'images/base/kolla_set_configs');

/** Runs the image's kolla_set_configs on this host (as root), pointed at a scratch folder. */
function setConfigs(root: string, config: unknown, strategy = 'COPY_ALWAYS') {
  writeFileSync(join(root, 'config.json'), JSON.stringify(config));
  return spawnSync('python3', [script], {
    encoding: 'utf8',
    env: {
      ...process.env,
      KOLLA_CONFIG_FILE: join(root, 'config.json'),
      KOLLA_RUN_COMMAND_FILE: join(root, 'run_command'),
      KOLLA_CONFIGURED_MARK: join(root, 'configured'),
      KOLLA_CONFIG_STRATEGY: strategy,
    },
  });
}

const ownerOf = (path: string) => `${statSync(path).uid}:${statSync(path).gid}`;
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("kolla_set_configs (the base image's, run here)", () => {
  it('copies files and folders with owner and mode, fixes permissions and writes the command', () => {
    const root = writeTree(temporaryDir(), {
      'in/nova.conf': 'a',
      'in/policy.d/a.yaml': 'x',
      'in/policy.d/b.yaml': 'y',
    });
    mkdirSync(join(root, 'logs/sub'), { recursive: true });
    const result = setConfigs(root, {
      command: 'nova-api --config-file /etc/nova/nova.conf',
      config_files: [
        {
          source: join(root, 'in/nova.conf'),
          dest: join(root, 'etc/nova/nova.conf'),
          owner: 'nobody:nogroup',
          perm: '0600',
        },
        { source: join(root, 'in/policy.d'), dest: join(root, 'etc/nova/policy.d'), owner: 'nobody', perm: '0640' },
        {
          source: join(root, 'in/missing.conf'),
          dest: join(root, 'etc/nova/missing.conf'),
          owner: 'nobody',
          perm: '0600',
          optional: true,
        },
      ],
      permissions: [{ path: join(root, 'logs'), owner: 'nobody:nogroup', perm: '0750', recurse: true }],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(root, 'run_command'), 'utf8'), 'nova-api --config-file /etc/nova/nova.conf');
    assert.equal(readFileSync(join(root, 'etc/nova/nova.conf'), 'utf8'), 'a');
    assert.equal(ownerOf(join(root, 'etc/nova/nova.conf')), '65534:65534');
    assert.equal(modeOf(join(root, 'etc/nova/nova.conf')), '600');
    assert.equal(modeOf(join(root, 'etc/nova/policy.d/b.yaml')), '640');
    assert.equal(ownerOf(join(root, 'logs/sub')), '65534:65534');
    assert.equal(modeOf(join(root, 'logs/sub')), '750');
    assert.match(result.stderr, /skipped optional .*missing\.conf/);
  });

  it('replaces unless asked to merge, and merges folders when asked', () => {
    const root = writeTree(temporaryDir(), { 'in/d/new.conf': 'new', 'etc/d/old.conf': 'old' });
    assert.equal(
      setConfigs(root, {
        command: 'true',
        config_files: [
          { source: join(root, 'in/d'), dest: join(root, 'etc/d'), owner: 'root', perm: '0644', merge: true },
        ],
      }).status,
      0,
    );
    assert.ok(existsSync(join(root, 'etc/d/old.conf')) && existsSync(join(root, 'etc/d/new.conf')));
    assert.equal(
      setConfigs(root, {
        command: 'true',
        config_files: [{ source: join(root, 'in/d'), dest: join(root, 'etc/d'), owner: 'root', perm: '0644' }],
      }).status,
      0,
    );
    assert.ok(!existsSync(join(root, 'etc/d/old.conf')) && existsSync(join(root, 'etc/d/new.conf')));
  });

  it('copies once with COPY_ONCE and keeps later changes, and every time with COPY_ALWAYS', () => {
    const root = writeTree(temporaryDir(), { 'in/a.conf': 'v1' });
    const config = {
      command: 'true',
      config_files: [{ source: join(root, 'in/a.conf'), dest: join(root, 'etc/a.conf'), owner: 'root', perm: '0644' }],
    };
    assert.equal(setConfigs(root, config, 'COPY_ONCE').status, 0);
    writeFileSync(join(root, 'in/a.conf'), 'v2');
    assert.equal(setConfigs(root, config, 'COPY_ONCE').status, 0);
    assert.equal(readFileSync(join(root, 'etc/a.conf'), 'utf8'), 'v1');
    assert.equal(setConfigs(root, config, 'COPY_ALWAYS').status, 0);
    assert.equal(readFileSync(join(root, 'etc/a.conf'), 'utf8'), 'v2');
  });

  it('fails with one clear line on a missing file, a bad owner, a bad mode, a bad strategy', () => {
    const root = writeTree(temporaryDir(), { 'in/a.conf': 'x' });
    const cases: Array<[unknown, RegExp, string?]> = [
      [
        {
          command: 'true',
          config_files: [{ source: join(root, 'in/none.conf'), dest: join(root, 'x'), owner: 'root' }],
        },
        /none\.conf is missing and not optional/,
      ],
      [
        {
          command: 'true',
          config_files: [{ source: join(root, 'in/a.conf'), dest: join(root, 'x'), owner: 'no-such-user' }],
        },
        /unknown user 'no-such-user'/,
      ],
      [
        {
          command: 'true',
          config_files: [{ source: join(root, 'in/a.conf'), dest: join(root, 'x'), owner: 'root', perm: 'rw' }],
        },
        /invalid perm 'rw'/,
      ],
      [{ command: 'true' }, /KOLLA_CONFIG_STRATEGY must be one of/, 'SOMETIMES'],
    ];
    for (const [config, message, strategy] of cases) {
      const result = setConfigs(root, config, strategy);
      assert.equal(result.status, 1);
      assert.match(result.stderr.trim(), message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    }
  });

  it('ships executable, with the start script beside it', () => {
    for (const file of ['kolla_set_configs', 'kolla_start', 'kolla_extend_start', 'add-users', 'policy-rc.d']) {
      assert.ok(statSync(join(projectRoot, 'images/base', file)).mode & 0o100, file);
    }
  });
});
