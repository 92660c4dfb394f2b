import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { effectiveConfig } from '../../src/app/config.js';
import { planShardsOf } from '../../src/app/shard.js';
import { checkTags, promoteTags, resolveImageTags } from '../../src/app/tags.js';
import { decryptFile, encryptFile, encryptString, viewFile } from '../../src/app/vault.js';
import type { Workspace } from '../../src/app/workspace.js';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { loadConfig } from '../../src/config/load.js';
import { UsageError } from '../../src/util/errors.js';
import { temporaryDir } from '../helpers/files.js';

/** The bundled configuration and image tree, as the commands open them. */
function bundledWorkspace(): Workspace {
  const loaded = loadConfig({ cwd: temporaryDir(), env: {} });
  return { loaded, catalog: discoverCatalog(loaded.imagesDirs) };
}

const refused = (pattern: RegExp) => (error: unknown) => error instanceof UsageError && pattern.test(error.message);
const noStdin = () => Readable.from([]);

describe('the vault commands, in process', () => {
  const dir = temporaryDir();
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'correct horse\n');
  const signal = new AbortController().signal;

  it('encrypts a file in place and decrypts it to stdout, the plaintext only in the decrypted bytes', async () => {
    const file = join(dir, 'secrets.yml');
    writeFileSync(file, 'registry_password: hunter2\n');
    const encrypted = await encryptFile({ file, passwordFile, stdin: noStdin(), signal });
    assert.deepEqual(encrypted, { to: 'file', path: file });
    assert.match(readFileSync(file, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /hunter2/);
    const decrypted = await decryptFile({ file, output: '-', passwordFile, stdin: noStdin(), signal });
    assert.equal(decrypted.to === 'stdout' && decrypted.data.toString(), 'registry_password: hunter2\n');
    assert.equal(
      (await viewFile({ file, passwordFile, stdin: noStdin(), signal })).toString(),
      'registry_password: hunter2\n',
    );
  });

  it('refuses a file that is no vault, naming it, before asking for a password', async () => {
    const file = join(dir, 'plain.yml');
    writeFileSync(file, 'a: 1\n');
    await assert.rejects(viewFile({ file, stdin: noStdin(), signal }), refused(/plain\.yml: /));
  });

  it('encrypts a value from stdin into a YAML entry, the name kept and the value not in it', async () => {
    const stdin = Readable.from([Buffer.from('s3cret\n')]);
    const entry = await encryptString({ name: 'db_password', passwordFile, stdin, signal });
    assert.match(entry, /^db_password: !vault \|\n {2}\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.doesNotMatch(entry, /s3cret/);
  });

  it('says stdin is over the 64 MiB a vault input may be, not that it cannot be read', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const stdin = Readable.from(
      (function* () {
        for (let mib = 0; mib <= 64; mib += 1) yield chunk;
      })(),
    );
    await assert.rejects(
      encryptString({ name: 'big', passwordFile, stdin, signal }),
      refused(/^stdin: more than the 64 MiB a vault input may be$/),
    );
  });
});

describe('the tags commands, in process', () => {
  const tagsFile = join(temporaryDir(), 'kolla-image-tags.yml');
  writeFileSync(
    tagsFile,
    'kolla_image_tags:\n  openstack:\n    debian-bookworm: zed-debian-bookworm-20240101T000000\n',
  );
  const choice = () => ({ workspace: bundledWorkspace(), file: tagsFile, onWarning: () => undefined });
  const signal = new AbortController().signal;

  it('resolves every deployable image of the bundled tree to the default tag of its distro', () => {
    const rows = resolveImageTags(choice());
    assert.ok(rows.length > 0);
    assert.ok(
      rows.every((row) => row.distro === 'debian-bookworm' && row.tag === 'zed-debian-bookworm-20240101T000000'),
    );
  });

  it('refuses a bad namespace, the same --from and --to, and a missing registry, before asking any registry', async () => {
    await assert.rejects(
      checkTags({ ...choice(), namespace: 'Bad NS', concurrency: 1, signal }),
      refused(/invalid --namespace "Bad NS"/),
    );
    await assert.rejects(
      promoteTags({ ...choice(), from: 'dev', to: 'dev', concurrency: 1, signal }),
      refused(/--from and --to name the same namespace/),
    );
    await assert.rejects(checkTags({ ...choice(), concurrency: 1, signal }), refused(/no registry configured/));
  });
});

describe('shard plan and config show, in process', () => {
  it('splits one distro into shards, every selected image in exactly one', () => {
    const workspace = bundledWorkspace();
    const [distro = ''] = Object.keys(workspace.loaded.config.distros);
    const document = planShardsOf({
      workspace,
      regexes: [],
      sets: [],
      distros: [distro],
      shards: 2,
      durationsFrom: [],
    });
    assert.equal(document.shards.length, 2);
    const images = document.shards.flatMap((shard) => shard.images);
    assert.equal(new Set(images).size, images.length);
    assert.ok(images.length > 0);
  });

  it('refuses --skip-parents with shards', () => {
    const workspace = bundledWorkspace();
    const [distro = ''] = Object.keys(workspace.loaded.config.distros);
    assert.throws(
      () =>
        planShardsOf({
          workspace,
          regexes: [],
          sets: [],
          distros: [distro],
          skipParents: true,
          shards: 2,
          durationsFrom: [],
        }),
      refused(/--skip-parents does not go with shards/),
    );
  });

  it('shows the effective configuration with its files, a password in a URL redacted', () => {
    const { loaded } = bundledWorkspace();
    const withPassword = { ...loaded, config: { ...loaded.config, pulp: { url: 'https://admin:hunter2@pulp.test/' } } };
    const shown = effectiveConfig(withPassword);
    assert.deepEqual(shown.files, loaded.files);
    assert.doesNotMatch(JSON.stringify(shown), /hunter2/);
    assert.match(JSON.stringify(shown), /pulp\.test/);
  });
});
