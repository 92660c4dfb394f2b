import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePatched, patchDockerfile } from '../../src/respin/patch-layer.js';

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
});
