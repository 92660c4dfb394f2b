import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

describe('watching a run in a terminal', { timeout: 5 * 60_000 }, () => {
  it('draws the live view on a terminal and plain lines elsewhere', () => {
    const stamp = Date.now();
    const dir = writeTree(temporaryDir(), {
      'etc/config.yml':
        'release: zed\nnamespace: live-view-test\nimages_dirs: [images]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\n',
      'etc/images/tiny/Dockerfile.j2': `FROM scratch\nCOPY hello /hello\nLABEL stamp="${stamp}"\n`,
      'etc/images/tiny/hello': 'hello\n',
      'etc/images/tiny-child/Dockerfile.j2': 'FROM {{ namespace }}/tiny:{{ tag }}\nCOPY hello /hello-again\n',
      'etc/images/tiny-child/hello': 'again\n',
    });
    const command = `${process.execPath} ${join(projectRoot, 'dist/cli/main.js')} --config ${join(dir, 'etc')} build --tag live-1`;
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
    delete env.CI;
    // `script` gives the command a pseudo-terminal, as an operator's shell would.
    const terminal = execFileSync('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'utf8', env });
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
    assert.match(terminal, /\x1b\[\?25l/, 'the cursor is hidden while drawing');
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
    assert.match(terminal, /\x1b\[\d+A\r\x1b\[0J/, 'the live block is redrawn in place');
    assert.match(terminal, /\[#{30}\] 2\/2 {2}done 2 · failed 0 · skipped 0 · remaining 0/);
    assert.ok(
      // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
      (terminal.match(/\x1b\[\d+A/g) ?? []).length < 40,
      'redrawn on state changes and once a second, not per log line',
    );
    assert.match(terminal, /✓ tiny built/);
    assert.match(terminal, /✓ tiny-child built/);

    const piped = execFileSync(
      process.execPath,
      [join(projectRoot, 'dist/cli/main.js'), '--config', join(dir, 'etc'), 'build', '--tag', 'live-2'],
      { cwd: dir, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(piped, '');
    const plain = execFileSync('sh', ['-c', `${command.replace('live-1', 'live-3')} 2>&1 | cat`], {
      cwd: dir,
      encoding: 'utf8',
      env,
    });
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
    assert.doesNotMatch(plain, /\x1b\[/, 'no escape sequences when not a terminal');
    assert.match(plain, /^\d\d:\d\d:\d\d tiny: reused/m);
  });

  it('prints every event as one JSON object per line with --json', () => {
    const dir = writeTree(temporaryDir(), {
      'etc/config.yml':
        'release: zed\nnamespace: live-view-test\nimages_dirs: [images]\ndistros:\n  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }\n',
      'etc/images/tiny/Dockerfile.j2': 'FROM scratch\nCOPY hello /hello\n',
      'etc/images/tiny/hello': 'hello\n',
    });
    const out = execFileSync(
      process.execPath,
      [join(projectRoot, 'dist/cli/main.js'), '--config', join(dir, 'etc'), '--json', 'build', '--tag', 'json-1'],
      { cwd: dir, encoding: 'utf8' },
    );
    const events = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; reason: string; name?: string });
    assert.deepEqual(events[0] && [events[0].type, events[0].reason], ['run', 'started']);
    assert.ok(
      events.some(
        (event) => event.type === 'image' && ['built', 'reused'].includes(event.reason) && event.name === 'tiny',
      ),
    );
    assert.deepEqual(events.at(-1) && [events.at(-1)?.type, events.at(-1)?.reason], ['run', 'finished']);
  });
});
