import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyTagChanges } from '../../src/tags/edit.js';
import { tagKeysOfImage } from '../../src/tags/naming.js';
import { effectiveTag, imageTags } from '../../src/tags/resolve.js';
import { readRollout } from '../../src/tags/runs.js';
import { parseTags, readTagsFile } from '../../src/tags/tags-file.js';
import { planUpdate } from '../../src/tags/update.js';
import { writeTagChanges } from '../../src/tags/write.js';
import { ConfigError } from '../../src/util/errors.js';

const R9 = '2024.1-rocky-9';
const UJ = '2024.1-ubuntu-jammy';

/** A tags file as operators keep it: header comments, inline comments, quoting, blank lines, a commented-out entry. */
const FILE = `---
# Dict of Kolla image tags to deploy for each service.
# Each key is the tag variable prefix name.
kolla_image_tags:
  openstack:
    rocky-9: ${R9}-20240903T113235   # the default
    ubuntu-jammy: "${UJ}-20240725T165045"

  nova:
    rocky-9: ${R9}-20240918T164436
    ubuntu-jammy: '${UJ}-20240918T164436'
  # ironic:
  #   rocky-9: ${R9}-20240101T000000
  ironic_dnsmasq:
    rocky-9: ${R9}-20241022T090648

# Trailing comment about the file.
other_variable: true
`;

/** Line by line, for edits that replace lines without adding any: [line number, before, after] of each difference. */
function changedLines(before: string, after: string): Array<[number, string, string]> {
  const a = before.split('\n');
  const b = after.split('\n');
  assert.equal(b.length, a.length);
  return a.flatMap((line, index): Array<[number, string, string]> => (line === b[index] ? [] : [[index + 1, line, b[index] ?? '']]));
}

describe('editing kolla-image-tags.yml in place', () => {
  it('changes only the intended values, keeping quotes and inline comments', () => {
    const after = applyTagChanges('f', FILE, [
      { key: 'openstack', distro: 'rocky-9', from: undefined, to: `${R9}-20250101T010101` },
      { key: 'openstack', distro: 'ubuntu-jammy', from: undefined, to: `${UJ}-20250101T010101` },
      { key: 'nova', distro: 'ubuntu-jammy', from: undefined, to: `${UJ}-20250101T010101` },
    ]);
    assert.equal(after, FILE
      .replace(`rocky-9: ${R9}-20240903T113235   # the default`, `rocky-9: ${R9}-20250101T010101   # the default`)
      .replace(`ubuntu-jammy: "${UJ}-20240725T165045"`, `ubuntu-jammy: "${UJ}-20250101T010101"`)
      .replace(`ubuntu-jammy: '${UJ}-20240918T164436'`, `ubuntu-jammy: '${UJ}-20250101T010101'`));
  });

  it('adds a distro after the key\'s last one and a new key after the last key, indented as the neighbours', () => {
    const after = applyTagChanges('f', FILE, [
      { key: 'ironic_dnsmasq', distro: 'ubuntu-jammy', from: undefined, to: `${UJ}-20250101T010101` },
      { key: 'nova_compute', distro: 'rocky-9', from: undefined, to: `${R9}-20250101T010101` },
    ]);
    assert.equal(after, FILE.replace(
      `    rocky-9: ${R9}-20241022T090648\n`,
      `    rocky-9: ${R9}-20241022T090648\n    ubuntu-jammy: ${UJ}-20250101T010101\n  nova_compute:\n    rocky-9: ${R9}-20250101T010101\n`,
    ));
    assert.deepEqual(parseTags('f', after).nova_compute, { 'rocky-9': `${R9}-20250101T010101` });
  });

  it('writes the file byte for byte as it was outside the changed line, even where other keys hold the same tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tags-unit-'));
    const path = join(dir, 'kolla-image-tags.yml');
    const original = FILE.replace('  # ironic:', `  ironic:\n    rocky-9: ${R9}-20241022T090648\n  # ironic:`);
    writeFileSync(path, original);
    const written = await writeTagChanges(readTagsFile(path), [{ key: 'ironic_dnsmasq', distro: 'rocky-9', from: undefined, to: `${R9}-20250202T020202` }]);
    const line = original.split('\n').indexOf('  ironic_dnsmasq:') + 2;
    assert.deepEqual(changedLines(original, written), [[line, `    rocky-9: ${R9}-20241022T090648`, `    rocky-9: ${R9}-20250202T020202`]]);
    assert.equal(readFileSync(path, 'utf8'), written);
    assert.deepEqual(readdirSync(dir), ['kolla-image-tags.yml'], 'no temporary file left behind');
  });
});

describe('validating kolla-image-tags.yml', () => {
  const bad = (text: string, pattern: RegExp) => assert.throws(() => parseTags('tags.yml', text), (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('\n'));

  it('names the key and what was expected, in one line', () => {
    bad('kolla_image_tags:\n  nova:\n    rocky-9: 2024.1-rocky-9-20240101T000000\n', /kolla_image_tags\.openstack: missing/);
    bad(`kolla_image_tags:\n  openstack:\n    rocky-9: ${R9}-20240101T000000\n  Nova:\n    rocky-9: ${R9}-20240101T000000\n`, /kolla_image_tags\.Nova: key "Nova" must match/);
    bad(`kolla_image_tags:\n  openstack:\n    rocky: ${R9}-20240101T000000\n`, /kolla_image_tags\.openstack\.rocky: expected a distro key/);
    bad(`kolla_image_tags:\n  openstack:\n    rocky-9: ${UJ}-20240101T000000\n`, /tag "2024\.1-ubuntu-jammy-20240101T000000" does not match <release>-rocky-9-/);
    bad(`kolla_image_tags:\n  openstack:\n    rocky-9: ${R9}-2024\n`, /does not match/);
    bad(`kolla_image_tags:\n  openstack:\n    rocky-9: ${R9}-20240101T000000\n  nova:\n    ubuntu-jammy: ${UJ}-20240101T000000\n`, /nova\.ubuntu-jammy: openstack has no tag for ubuntu-jammy/);
    bad('kolla_image_tags: [a, b]\n', /kolla_image_tags: expected a mapping/);
    bad('kolla_image_tags:\n  openstack: {\n', /not valid YAML/);
  });
});

describe('effective tags', () => {
  const tags = parseTags('f', `kolla_image_tags:
  openstack: {rocky-9: ${R9}-20240101T000000, ubuntu-jammy: ${UJ}-20240101T000000}
  nova: {rocky-9: ${R9}-20240202T000000}
  nova_compute: {rocky-9: ${R9}-20240303T000000}
  ironic: {rocky-9: ${R9}-20240404T000000}
  ironic_dnsmasq: {rocky-9: ${R9}-20240505T000000}
  neutron: {ubuntu-jammy: ${UJ}-20240606T000000}
`);

  it('takes the container key, else the longest service prefix, else openstack', () => {
    assert.deepEqual(effectiveTag(tags, 'rocky-9', 'nova_compute'), { tag: `${R9}-20240303T000000`, from: 'nova_compute' });
    assert.deepEqual(effectiveTag(tags, 'rocky-9', 'nova_api'), { tag: `${R9}-20240202T000000`, from: 'nova' });
    assert.deepEqual(effectiveTag(tags, 'ubuntu-jammy', 'nova_api'), { tag: `${UJ}-20240101T000000`, from: 'openstack' });
    assert.deepEqual(effectiveTag(tags, 'rocky-9', 'novajoin'), { tag: `${R9}-20240101T000000`, from: 'openstack' }, 'a prefix counts only at a _ boundary');
  });

  it('follows Kolla-Ansible\'s exceptions to the prefix rule', () => {
    assert.equal(effectiveTag(tags, 'rocky-9', 'ironic_neutron_agent')?.from, 'openstack', 'its parent is neutron, which rocky-9 lacks');
    assert.equal(effectiveTag(tags, 'ubuntu-jammy', 'ironic_neutron_agent')?.from, 'neutron');
    assert.equal(effectiveTag(tags, 'rocky-9', 'nova_compute_ironic')?.from, 'nova', 'not nova_compute');
  });

  it('maps images to their keys: dnsmasq to ironic_dnsmasq, one image to several containers', () => {
    assert.deepEqual(tagKeysOfImage('dnsmasq'), ['ironic_dnsmasq']);
    assert.deepEqual(tagKeysOfImage('nova-compute'), ['nova_compute']);
    const rows = imageTags(tags, ['dnsmasq', 'mariadb-server'], ['rocky-9']).rows;
    assert.deepEqual(rows.map((row) => [row.image, row.tag, row.keys.join('+')]), [
      ['dnsmasq', `${R9}-20240505T000000`, 'ironic_dnsmasq'],
      ['mariadb-server', `${R9}-20240101T000000`, 'mariadb+mariabackup'],
    ]);
  });
});

describe('what a run rolls out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tags-runs-'));
  const summary = (name: string, fields: Record<string, unknown>) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({
      tag: `${R9}-20250101T010101`, distro: 'rocky', built: [], reused: [], failed: [], skipped: [], not_matched: [], unbuildable: [],
      pushed: [{ name: 'x', reference: 'r' }], push_failed: [], finished_at: '2025-01-01T01:30:00Z', interrupted: false, images: {}, ...fields,
    }));
    return path;
  };

  it('a run that selected every image is full and sets openstack', () => {
    const rollout = readRollout(summary('full', { built: [{ name: 'base' }, { name: 'nova-base' }, { name: 'nova-api' }], reused: [{ name: 'keystone' }] }));
    assert.deepEqual({ ...rollout, summaryFile: '' }, { summaryFile: '', distroKey: 'rocky-9', tag: `${R9}-20250101T010101`, full: true, images: ['keystone', 'nova-api'], pushed: true });
    const plan = planUpdate({ openstack: { 'rocky-9': `${R9}-20240101T000000` }, nova: { 'rocky-9': `${R9}-20240202T000000` } }, [rollout]);
    assert.deepEqual(plan.changes, [{ key: 'openstack', distro: 'rocky-9', from: `${R9}-20240101T000000`, to: `${R9}-20250101T010101` }]);
    assert.deepEqual(plan.stillOverriding, [{ key: 'nova', distro: 'rocky-9', tag: `${R9}-20240202T000000` }]);
  });

  it('a partial run sets the keys of the deployable images it built', () => {
    const rollout = readRollout(summary('partial', { built: [{ name: 'base' }, { name: 'dnsmasq' }, { name: 'nova-api' }, { name: 'nova-compute' }], failed: [{ name: 'nova-compute', status: 'error', reason: 'x' }], not_matched: [{ name: 'keystone' }] }));
    assert.equal(rollout.full, false);
    const plan = planUpdate({ openstack: { 'rocky-9': `${R9}-20240101T000000` } }, [rollout]);
    assert.deepEqual(plan.changes.map((change) => change.key), ['ironic_dnsmasq', 'nova_api']);
  });

  it('refuses a full run with failures, an interrupted run and a tag that is not a run tag', () => {
    assert.throws(() => readRollout(summary('failed', { failed: [{ name: 'nova-api', status: 'error', reason: 'x' }] })), /failed: a build of every image with 1 failed \(nova-api\)/);
    assert.throws(() => readRollout(summary('interrupted', { interrupted: true })), /did not finish/);
    assert.throws(() => readRollout(summary('custom', { tag: 'my-tag' })), (error: unknown) => error instanceof ConfigError && /tag: "my-tag" is not a run tag/.test(error.message));
    assert.throws(() => planUpdate({}, [readRollout(summary('a', {})), readRollout(summary('b', {}))]), /two runs for rocky-9/);
  });
});
