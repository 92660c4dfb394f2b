import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copyFilesOut } from '../../src/engine/docker-files.js';
import { temporaryDir } from '../helpers/files.js';

/**
 * A docker CLI on the wire as copyFilesOut meets it: `create` prints a container id, `rm` removes it, and
 * `cp CONTAINER:PATH -` streams a tar of the path from a folder standing for the container's root. docker cp
 * writes its archive in 10 KiB records; `trailing` bytes more of padding come after the end-of-archive
 * blocks, late, when a reader that stopped at those blocks has let go of the pipe (what made docker cp die of
 * SIGPIPE now and then on a real dockerd).
 */
function fakeDocker(trailing: number): { command: string; root: string } {
  const dir = temporaryDir('ci-builder-docker-files-');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
  mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), 'Package: memcached\nVersion: 1.6.18-1\n\n'.repeat(2000));
  writeFileSync(join(root, 'etc/apt/sources.list.d/debian.sources'), 'Types: deb\n');
  const command = join(dir, 'docker');
  writeFileSync(
    command,
    [
      '#!/bin/sh',
      'case "$1" in',
      '  create) echo c0ffee ;;',
      '  rm) ;;',
      '  cp)',
      '    path="${2#*:}"',
      `    [ -e "${root}$path" ] || { echo "Error: Could not find the file $path in container c0ffee" >&2; exit 1; }`,
      `    tar -C "${root}$(dirname "$path")" -cf - "$(basename "$path")"`,
      `    if [ ${trailing} -gt 0 ]; then sleep 0.3; exec head -c ${trailing} /dev/zero; fi ;;`,
      '  *) echo "unexpected: $*" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(command, 0o755);
  return { command, root };
}

describe('files copied out of a docker image (docker cp)', () => {
  it('reads every file under the paths asked, and leaves out a path the image lacks', async () => {
    const { command } = fakeDocker(0);
    const copied = await copyFilesOut(command, process.env, 'image', ['/var/lib/dpkg/status', '/etc/apt', '/no/such']);
    assert.ok(copied.ok, copied.ok ? '' : copied.failure.message);
    assert.deepEqual([...copied.value.keys()].sort(), ['etc/apt/sources.list.d/debian.sources', 'var/lib/dpkg/status']);
    assert.match(copied.value.get('var/lib/dpkg/status')?.toString('utf8') ?? '', /^Package: memcached\n/);
  });

  it('has the whole archive when docker cp, writing padding after its end, dies of SIGPIPE', async () => {
    const { command } = fakeDocker(256 * 1024);
    const copied = await copyFilesOut(command, process.env, 'image', ['/var/lib/dpkg/status']);
    assert.ok(copied.ok, copied.ok ? '' : copied.failure.message);
    assert.equal(
      copied.value.get('var/lib/dpkg/status')?.length,
      'Package: memcached\nVersion: 1.6.18-1\n\n'.length * 2000,
    );
  });

  it('fails, saying why, when what docker cp streams is not a tar', async () => {
    const { command } = fakeDocker(0);
    // A cp that prints its error text on stdout instead of an archive.
    writeFileSync(
      command,
      `#!/bin/sh\ncase "$1" in create) echo c0ffee ;; rm) ;; cp) echo "${'x'.repeat(600)}" ;; esac\n`,
    );
    const copied = await copyFilesOut(command, process.env, 'image', ['/var/lib/dpkg/status']);
    assert.equal(copied.ok, false);
    assert.match(copied.failure.message, /^docker cp \/var\/lib\/dpkg\/status: .*not a tar stream/);
  });
});
