import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegistryClient } from '../../src/registry/client.js';
import { runCli } from '../helpers/cli.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { pushTwoLayerImage, startRegistry, type PushedImage, type RegistryAuthMode } from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';

const OLD = 'zed-debian-bookworm-20250101T010101';
const NEW = 'zed-debian-bookworm-20250202T020202';
const PINNED = 'zed-debian-bookworm-20250303T030303';

/** A tags file kept by hand: comments, a blank line, a quoted value, a pinned service. */
const TAGS_FILE = `---
# Tags deployed per service and distro.
kolla_image_tags:
  # The default for every image.
  openstack:
    debian-bookworm: ${OLD}   # first full build

  nova:
    debian-bookworm: "${PINNED}"
# end of tags
`;

/** A small image tree: two intermediate images and four deployable ones, dnsmasq among them. */
function imageTree(root: string): string {
  const from = (parent: string) => `FROM {{ namespace }}/{{ image_prefix }}${parent}:{{ tag }}\n`;
  return writeTree(root, {
    'macros.j2': '',
    'base/Dockerfile.j2': 'FROM debian:bookworm\n',
    'openstack-base/Dockerfile.j2': from('base'),
    'keystone/Dockerfile.j2': from('openstack-base'),
    'dnsmasq/Dockerfile.j2': from('base'),
    'nova/nova-base/Dockerfile.j2': from('openstack-base'),
    'nova/nova-api/Dockerfile.j2': from('nova-base'),
    'nova/nova-compute/Dockerfile.j2': from('nova-base'),
  });
}

const modes: Array<[string, RegistryAuthMode]> = [
  ['htpasswd', { kind: 'htpasswd' }],
  ['token auth', { kind: 'token', field: 'access_token' }],
];

/** A summary.json as a finished, pushed run leaves it. */
function runSummary(fields: Record<string, unknown>): string {
  const empty = { built: [], reused: [], failed: [], skipped: [], not_matched: [], unbuildable: [], push_failed: [] };
  const pushed = [{ name: 'base', reference: 'r' }];
  const finished = { finished_at: '2025-02-02T03:00:00Z', interrupted: false, pushed };
  return JSON.stringify({ tag: NEW, distro: 'debian', ...empty, ...finished, images: {}, ...fields });
}

const named = (...names: string[]) => names.map((name) => ({ name }));

for (const [label, mode] of modes)
  describe(`ci-builder tags with ${label}`, { timeout: 120_000 }, () => {
    let registry: TestRegistry;
    let client: RegistryClient;
    let dir: string;
    let tagsFile: string;
    const cli = (args: string[]) => runCli(['--config', join(dir, 'etc'), ...args], { cwd: dir });
    const pushed = new Map<string, PushedImage>();

    before(async () => {
      registry = await startRegistry(mode);
      const { username, password } = registry;
      client = new RegistryClient(registry.address, { username, password }, { insecure: true });
      dir = temporaryDir('ci-builder-tags-');
      imageTree(join(dir, 'images'));
      const bundled = readFileSync(new URL('../../etc/ci-builder/config.yml', import.meta.url), 'utf8');
      writeTree(dir, {
        'etc/config.yml': bundled
          .replace(/^registry: .*$/m, `registry: ${registry.address}`)
          .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${join(dir, 'images')}`),
        'etc/secrets.yml': `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
        'etc/kayobe/kolla-image-tags.yml': TAGS_FILE,
      });
      tagsFile = join(dir, 'etc/kayobe/kolla-image-tags.yml');
      // Everything at the default tag, nova at its pinned tag, except nova-compute: the one missing tag.
      for (const [image, tag] of [
        ['keystone', OLD],
        ['dnsmasq', OLD],
        ['nova-api', PINNED],
      ] as const) {
        pushed.set(image, await pushTwoLayerImage(client, `dev/${image}`, tag, `${image}-${tag}`));
      }
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    after(async () => registry?.stop());

    it("lists each image's effective tag", async () => {
      const result = await cli(['tags', 'list', '--file', tagsFile]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          `dnsmasq debian-bookworm ${OLD}`,
          `keystone debian-bookworm ${OLD}`,
          `nova-api debian-bookworm ${PINNED}`,
          `nova-compute debian-bookworm ${PINNED}`,
          '',
        ].join('\n'),
      );
      const json = await cli(['tags', 'list', '--file', tagsFile, '--distro', 'debian', '--json']);
      const dnsmasq = (JSON.parse(json.stdout) as Array<{ image: string; keys: string[]; from: string[] }>)[0];
      const expected = { image: 'dnsmasq', distro: 'debian-bookworm', tag: OLD, keys: ['ironic_dnsmasq'] };
      assert.deepEqual(dnsmasq, { ...expected, from: ['openstack'] });
      const otherDistro = await cli(['tags', 'list', '--file', tagsFile, '--distro', 'rocky']);
      assert.equal(otherDistro.code, 2);
      assert.match(otherDistro.stderr, /no distro matches --distro rocky \(it has debian-bookworm\)\n$/);
    });

    it('check finds the one missing tag and exits 1; with it pushed, exits 0', async () => {
      const missing = await cli(['tags', 'check', '--file', tagsFile, '--namespace', 'dev']);
      assert.equal(missing.code, 1, missing.stderr);
      assert.equal(missing.stdout, `missing dev/nova-compute:${PINNED} (debian-bookworm)\n`);
      assert.match(missing.stderr, /4 image tag\(s\) checked in .*: 1 missing/);
      assert.ok(!`${missing.stdout}${missing.stderr}`.includes(registry.password));
      pushed.set('nova-compute', await pushTwoLayerImage(client, 'dev/nova-compute', PINNED, 'nova-compute'));
      const complete = await cli(['tags', 'check', '--file', tagsFile, '--namespace', 'dev', '--json']);
      assert.equal(complete.code, 0, complete.stderr);
      assert.deepEqual(JSON.parse(complete.stdout), { checked: 4, missing: [], unknown: [] });
    });

    it('promote copies by mount with the same digests, and a second run copies nothing', async () => {
      const first = await cli(['tags', 'promote', '--file', tagsFile, '--from', 'dev', '--to', 'release']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /dev -> release: 4 copied, 0 already present, 0 failed/);
      for (const [image, { digest }] of pushed) {
        const tag = image.startsWith('nova') ? PINNED : OLD;
        assert.equal((await client.headManifest(`release/${image}`, tag))?.digest, digest, `release/${image}:${tag}`);
      }
      const second = await cli(['tags', 'promote', '--file', tagsFile, '--from', 'dev', '--to', 'release', '--json']);
      assert.equal(second.code, 0, second.stderr);
      const summary = JSON.parse(second.stdout) as { copied: number; already_present: number; failed: number };
      assert.deepEqual([summary.copied, summary.already_present, summary.failed], [0, 4, 0]);
    });

    it('promote reports an image missing from the source and exits 1', async () => {
      writeFileSync(join(dir, 'other.yml'), TAGS_FILE.replace(`"${PINNED}"`, `"${NEW}"`));
      const result = await cli([
        'tags',
        'promote',
        '--file',
        join(dir, 'other.yml'),
        '--from',
        'dev',
        '--to',
        'release',
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, new RegExp(`failed release/nova-api:${NEW}: dev/nova-api:${NEW} does not exist`));
      assert.match(result.stderr, /2 already present, 2 failed/);
    });

    it('update writes a partial run into the intended lines only, and a full run into openstack', async () => {
      const runDir = join(dir, '.ci-builder/runs', NEW);
      const partialRun = runSummary({ built: named('base', 'dnsmasq', 'nova-api'), not_matched: named('keystone') });
      writeTree(runDir, { 'summary.json': partialRun });
      const partial = await cli(['tags', 'update', '--file', tagsFile, '--run', runDir]);
      assert.equal(partial.code, 0, partial.stderr);
      const added = `  ironic_dnsmasq:\n    debian-bookworm: ${NEW}\n  nova_api:\n    debian-bookworm: ${NEW}\n`;
      assert.equal(readFileSync(tagsFile, 'utf8'), TAGS_FILE.replace('# end of tags', `${added}# end of tags`));

      const fullRun = runSummary({ built: named('keystone', 'dnsmasq', 'nova-api', 'nova-compute') });
      writeTree(runDir, { 'summary.json': fullRun });
      const before = readFileSync(tagsFile, 'utf8');
      const full = await cli(['tags', 'update', '--file', tagsFile]);
      assert.equal(full.code, 0, full.stderr);
      assert.equal(full.stdout, `openstack debian-bookworm: ${OLD} -> ${NEW}\n`);
      const comment = '   # first full build';
      assert.equal(readFileSync(tagsFile, 'utf8'), before.replace(`${OLD}${comment}`, `${NEW}${comment}`));
      assert.match(full.stderr, /still override the new default: nova \(debian-bookworm\)/);
    });

    it('update refuses bad input with one line and exit 2, leaving the file as it was', async () => {
      const before = readFileSync(tagsFile, 'utf8');
      const runDir = join(dir, 'bad-run');
      writeTree(runDir, { 'summary.json': runSummary({ tag: 'latest' }) });
      const badRun = await cli(['tags', 'update', '--file', tagsFile, '--run', runDir]);
      assert.equal(badRun.code, 2);
      const expected = 'tag: "latest" is not a run tag <release>-debian-<version>-<YYYYMMDDThhmmss>';
      assert.equal(badRun.stderr, `ci-builder: error: ${join(runDir, 'summary.json')}: ${expected}\n`);
      writeFileSync(join(dir, 'broken.yml'), 'kolla_image_tags:\n  openstack:\n    debian-bookworm: nope\n');
      const run = join(dir, '.ci-builder/runs', NEW);
      const badFile = await cli(['tags', 'update', '--file', join(dir, 'broken.yml'), '--run', run]);
      assert.equal(badFile.code, 2);
      assert.equal(badFile.stderr.split('\n').length, 2, badFile.stderr);
      assert.equal(readFileSync(tagsFile, 'utf8'), before);
    });
  });

describe("ci-builder tags update with a pipeline's artifacts folder", () => {
  /** `<artifacts>/<distro>/<set>/summary.json` and pipeline-summary.json, as `pipeline` writes them. */
  function writeArtifacts(dir: string, sets: Array<{ set: string; summary: string }>): void {
    const runs = sets.map(({ set, summary }) => ({
      distro: 'debian',
      set,
      tag: (JSON.parse(summary) as { tag: string }).tag,
      run_dir: join(dir, 'debian', set),
      exit_code: 0,
      summary: JSON.parse(summary) as unknown,
    }));
    writeTree(dir, {
      ...Object.fromEntries(sets.map(({ set, summary }) => [`debian/${set}/summary.json`, summary])),
      'pipeline-summary.json': `${JSON.stringify({ exit_code: 0, reasons: [], runs }, null, 2)}\n`,
    });
  }
  const overcloud = runSummary({
    built: named('base', 'keystone', 'nova-api', 'nova-compute'),
    not_matched: named('dnsmasq'),
  });

  it("writes openstack when the distro's sets together built every image, else their images' keys", async () => {
    const dir = temporaryDir('ci-builder-tags-pipeline-');
    const tagsFile = join(dir, 'kolla-image-tags.yml');
    writeFileSync(tagsFile, TAGS_FILE);
    const cli = (args: string[]) => runCli(['tags', 'update', '--file', tagsFile, ...args], { cwd: dir });

    const seedWithoutDnsmasq = runSummary({ reused: named('base'), not_matched: named('dnsmasq', 'keystone') });
    writeArtifacts(join(dir, 'partial'), [
      { set: 'overcloud', summary: overcloud },
      { set: 'seed', summary: seedWithoutDnsmasq },
    ]);
    const partial = await cli(['--run', join(dir, 'partial')]);
    assert.equal(partial.code, 0, partial.stderr);
    const added = `  keystone:\n    debian-bookworm: ${NEW}\n  nova_api:\n    debian-bookworm: ${NEW}\n`;
    const compute = `  nova_compute:\n    debian-bookworm: ${NEW}\n`;
    assert.equal(readFileSync(tagsFile, 'utf8'), TAGS_FILE.replace('# end of tags', `${added}${compute}# end of tags`));

    writeFileSync(tagsFile, TAGS_FILE);
    const seed = runSummary({ built: named('dnsmasq'), reused: named('base'), not_matched: named('keystone') });
    writeArtifacts(join(dir, 'full'), [
      { set: 'overcloud', summary: overcloud },
      { set: 'seed', summary: seed },
    ]);
    const full = await cli(['--run', join(dir, 'full')]);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.stdout, `openstack debian-bookworm: ${OLD} -> ${NEW}\n`);
    const comment = '   # first full build';
    assert.equal(readFileSync(tagsFile, 'utf8'), TAGS_FILE.replace(`${OLD}${comment}`, `${NEW}${comment}`));
  });

  it('refuses the sets of one distro at different tags: one line, exit 2, the file as it was', async () => {
    const dir = temporaryDir('ci-builder-tags-pipeline-');
    const tagsFile = join(dir, 'kolla-image-tags.yml');
    writeFileSync(tagsFile, TAGS_FILE);
    const seed = runSummary({ tag: PINNED, built: named('dnsmasq'), not_matched: named('keystone') });
    writeArtifacts(join(dir, 'mixed'), [
      { set: 'overcloud', summary: overcloud },
      { set: 'seed', summary: seed },
    ]);
    const result = await runCli(['tags', 'update', '--file', tagsFile, '--run', join(dir, 'mixed')], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^ci-builder: error: two runs for debian-bookworm at different tags: [^\n]*\n$/);
    assert.equal(readFileSync(tagsFile, 'utf8'), TAGS_FILE);
  });
});
