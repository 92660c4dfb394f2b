import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describePatched, ONLY_THESE_REFUSED, patchDockerfile, patchScript } from '../../src/respin/patch-layer.js';
import { runProcess } from '../../src/util/process.js';
import { temporaryDir } from '../helpers/files.js';

const packages = [
  { name: 'openssl', architecture: 'amd64', from: '3.0.11-1~deb12u2', to: '3.0.15-1~deb12u1' },
  { name: 'tzdata', architecture: 'all', from: '2024a-0+deb12u1', to: '2025b-0+deb12u1' },
  { name: 'libc6', architecture: 'i386', from: '2.36-9+deb12u7', to: '2.36-9+deb12u9' },
];
const request = {
  patched: 'sha256:0123',
  from: 'localhost/ci-builder-patch-from/memcached:0123-c0ffee00',
  user: '',
  setup: [
    "printf '%s\\n' 'deb [trusted=yes] http://127.0.0.1:41000/pulp/content/debian/2/ bookworm main' > /etc/apt/sources.list",
  ],
  restore: ['rm -rf /var/lib/apt/lists/*', "if grep -rqsF -e '/pulp/content/' /etc/apt; then exit 1; fi"],
  packages,
  nativeArchitecture: 'amd64',
};

/** The shell commands of the layer's one RUN, in order. */
const commands = (dockerfile: string) =>
  (/^RUN set -e; \\\n {4}([\s\S]*?)\n(?:USER|$)/m.exec(dockerfile)?.[1] ?? '').split('; \\\n    ');

describe('the patch layer', () => {
  it('sets the new snapshots up, upgrades exactly the moved versions, keeps automatic marks, then restores the sources', () => {
    const dockerfile = patchDockerfile(request);
    assert.match(
      dockerfile,
      /^# the image patched: sha256:0123\nFROM localhost\/ci-builder-patch-from\/memcached:0123-c0ffee00\nRUN /,
    );
    assert.doesNotMatch(dockerfile, /^USER/m, 'an image running as root needs no switch');
    assert.deepEqual(commands(dockerfile), [
      ...request.setup,
      'apt-get update',
      "auto=\"$(apt-mark showauto 'openssl' 'tzdata' 'libc6:i386')\"",
      [
        'DEBIAN_FRONTEND=noninteractive apt-get install -y --only-upgrade --no-install-recommends',
        '-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io',
        "'openssl=3.0.15-1~deb12u1' 'tzdata=2025b-0+deb12u1' 'libc6:i386=2.36-9+deb12u9'",
      ].join(' '),
      'if [ -n "$auto" ]; then apt-mark auto $auto >/dev/null; fi',
      'apt-get clean',
      ...request.restore,
    ]);
  });

  it('switches to root for the upgrade and back to the user the image runs as', () => {
    const dockerfile = patchDockerfile({ ...request, user: 'memcache' });
    assert.match(dockerfile, /\nFROM \S+\nUSER root\nRUN set -e;[\s\S]*\nUSER memcache\n$/);
  });

  it('names the patched packages from→to in name order for the label', () => {
    assert.equal(
      describePatched(packages),
      'libc6 2.36-9+deb12u7→2.36-9+deb12u9, openssl 3.0.11-1~deb12u2→3.0.15-1~deb12u1, tzdata 2024a-0+deb12u1→2025b-0+deb12u1',
    );
  });

  describe('run ahead, on the image before its parent is patched', () => {
    const dir = temporaryDir();
    /**
     * The script with stand-ins for apt-get and apt-mark on PATH: apt's simulation prints these `Inst` lines,
     * and every other call is recorded, so what the script went on to do is known.
     */
    async function runAhead(simulated: string[]) {
      const calls = join(dir, 'calls');
      rmSync(calls, { force: true });
      for (const tool of ['apt-get', 'apt-mark']) {
        const script = [
          '#!/bin/sh',
          `if [ "$1" = -s ]; then printf '%s\\n' ${simulated.map((line) => `'${line}'`).join(' ')}; exit 0; fi`,
          `echo "${tool} $*" >> ${calls}`,
        ].join('\n');
        writeFileSync(join(dir, tool), `${script}\n`);
        chmodSync(join(dir, tool), 0o755);
      }
      const script = patchScript({ ...request, setup: ['true'], restore: ['true'] }, { onlyThese: true });
      const ran = await runProcess('sh', ['-c', script], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      });
      const recorded = await runProcess('cat', [calls], { captureStdout: true });
      return { code: ran.exitCode, stderr: ran.stderrTail.join('\n'), calls: recorded.stdout };
    }

    it('upgrades the packages asked, new ones they need allowed', async () => {
      const ran = await runAhead([
        'Inst openssl [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian:12/stable [amd64])',
        'Inst libnew1 (1.0-1 Debian:12/stable [amd64])',
        'Inst libc6:i386 [2.36-9+deb12u7] (2.36-9+deb12u9 Debian:12/stable [i386])',
      ]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.calls, /apt-get install -y --only-upgrade/);
    });

    it("refuses, before unpacking anything, where apt would move an installed package not asked (its parent's)", async () => {
      const ran = await runAhead([
        'Inst libssl3 [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian:12/stable [amd64])',
        'Inst openssl [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian:12/stable [amd64])',
      ]);
      assert.equal(ran.code, ONLY_THESE_REFUSED);
      assert.match(ran.stderr, /apt would also upgrade: libssl3/);
      assert.doesNotMatch(ran.calls, /install/);
    });
  });
});
