import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { combineRuns } from '../../src/tags/combine.js';
import { applyTagChanges, type TagChange } from '../../src/tags/edit.js';
import { tagKeysOfImage } from '../../src/tags/naming.js';
import { effectiveTag, imageTags } from '../../src/tags/resolve.js';
import type { RunSummary } from '../../src/report/summary.js';
import { latestRun, runSummaries } from '../../src/tags/run-sources.js';
import { readRollout as readSource } from '../../src/tags/runs.js';
import { parseTags, readTagsFile } from '../../src/tags/tags-file.js';
import { planUpdate } from '../../src/tags/update.js';
import { writeTagChanges } from '../../src/tags/write.js';
import { ConfigError, UsageError } from '../../src/util/errors.js';
import { Pace } from '../../src/util/pace.js';
import { runCliBounded } from '../helpers/cli.js';
import { temporaryDir } from '../helpers/files.js';
import { countOperations } from '../helpers/operation-count.js';

const R9 = '2024.1-rocky-9';
const UJ = '2024.1-ubuntu-jammy';
const NEW_R9 = `${R9}-20250101T010101`;
const NEW_UJ = `${UJ}-20250101T010101`;
/** A tag of each distro, for files that only need to be valid. */
const T_R9 = `${R9}-20240101T000000`;
const T_UJ = `${UJ}-20240101T000000`;

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

/** The rollouts of the runs a `--run` value names. */
const rolloutsOf = async (run: string) => (await runSummaries([run])).map(readSource);
const readRollout = async (file: string) => {
  const [rollout] = await rolloutsOf(file);
  assert.ok(rollout);
  return rollout;
};

const change = (key: string, distro: string, to: string): TagChange => ({ key, distro, from: undefined, to });

/** Line by line, for edits that replace lines without adding any: [line number, before, after] of each difference. */
function changedLines(before: string, after: string): Array<[number, string, string]> {
  const a = before.split('\n');
  const b = after.split('\n');
  assert.equal(b.length, a.length);
  const differences: Array<[number, string, string]> = [];
  a.forEach((line, index) => {
    if (line !== b[index]) differences.push([index + 1, line, b[index] ?? '']);
  });
  return differences;
}

describe('editing kolla-image-tags.yml in place', () => {
  it('changes only the intended values, keeping quotes and inline comments', async () => {
    const after = await applyTagChanges('f', FILE, [
      change('openstack', 'rocky-9', NEW_R9),
      change('openstack', 'ubuntu-jammy', NEW_UJ),
      change('nova', 'ubuntu-jammy', NEW_UJ),
    ]);
    assert.equal(
      after,
      FILE.replace(`rocky-9: ${R9}-20240903T113235   # the default`, `rocky-9: ${NEW_R9}   # the default`)
        .replace(`ubuntu-jammy: "${UJ}-20240725T165045"`, `ubuntu-jammy: "${NEW_UJ}"`)
        .replace(`ubuntu-jammy: '${UJ}-20240918T164436'`, `ubuntu-jammy: '${NEW_UJ}'`),
    );
  });

  it("adds a distro after the key's last one and a new key after the last key, indented as the neighbours", async () => {
    const changes = [change('ironic_dnsmasq', 'ubuntu-jammy', NEW_UJ), change('nova_compute', 'rocky-9', NEW_R9)];
    const after = await applyTagChanges('f', FILE, changes);
    const last = `    rocky-9: ${R9}-20241022T090648\n`;
    const added = `    ubuntu-jammy: ${NEW_UJ}\n  nova_compute:\n    rocky-9: ${NEW_R9}\n`;
    assert.equal(after, FILE.replace(last, `${last}${added}`));
    assert.deepEqual(parseTags('f', after).nova_compute, { 'rocky-9': NEW_R9 });
  });

  it('ends added lines as the file ends its own', async () => {
    const crlf = `kolla_image_tags:\r\n  openstack:\r\n    rocky-9: ${T_R9}\r\n# end\r\n`;
    const changes = [change('nova', 'rocky-9', NEW_R9), change('openstack', 'rocky-9', NEW_R9)];
    const after = await applyTagChanges('f', crlf, changes);
    const expected = crlf.replace('# end', `  nova:\r\n    rocky-9: ${NEW_R9}\r\n# end`).replace(T_R9, NEW_R9);
    assert.equal(after, expected);
  });

  it('edits flow mappings inside the braces', async () => {
    const flow = `kolla_image_tags:\n  openstack: {rocky-9: ${T_R9}}  # flow\n`;
    const after = await applyTagChanges('f', flow, [change('openstack', 'ubuntu-jammy', NEW_UJ)]);
    assert.equal(after, `kolla_image_tags:\n  openstack: {rocky-9: ${T_R9}, ubuntu-jammy: ${NEW_UJ}}  # flow\n`);
  });

  it('writes the file as it was outside the changed line, even where other keys hold the same tag', async () => {
    const dir = temporaryDir('ci-builder-tags-unit-');
    const path = join(dir, 'kolla-image-tags.yml');
    const original = FILE.replace('  # ironic:', `  ironic:\n    rocky-9: ${R9}-20241022T090648\n  # ironic:`);
    writeFileSync(path, original);
    const written = await writeTagChanges(readTagsFile(path), [change('ironic_dnsmasq', 'rocky-9', NEW_R9)]);
    const line = original.split('\n').indexOf('  ironic_dnsmasq:') + 2;
    const expected = [[line, `    rocky-9: ${R9}-20241022T090648`, `    rocky-9: ${NEW_R9}`]];
    assert.deepEqual(changedLines(original, written), expected);
    assert.equal(readFileSync(path, 'utf8'), written);
    assert.deepEqual(readdirSync(dir), ['kolla-image-tags.yml'], 'no temporary file left behind');
  });
});

describe('validating kolla-image-tags.yml', () => {
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(
      () => parseTags('tags.yml', text),
      (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('\n'),
    );
  const file = (body: string) => `kolla_image_tags:\n${body}`;

  it('names the key and what was expected, in one line', () => {
    const openstack = `  openstack:\n    rocky-9: ${T_R9}\n`;
    bad(file(`  nova:\n    rocky-9: ${T_R9}\n`), /kolla_image_tags\.openstack: missing/);
    bad(file(`${openstack}  Nova:\n    rocky-9: ${T_R9}\n`), /\.Nova: key "Nova" must match/);
    bad(file(`  openstack:\n    rocky: ${T_R9}\n`), /kolla_image_tags\.openstack\.rocky: expected a distro key/);
    const wrongDistro = /tag "2024\.1-ubuntu-jammy-\d+T\d+" does not match <release>-rocky-9/;
    bad(file(`  openstack:\n    rocky-9: ${T_UJ}\n`), wrongDistro);
    bad(file(`  openstack:\n    rocky-9: ${R9}-2024\n`), /does not match/);
    const uncovered = file(`${openstack}  nova:\n    ubuntu-jammy: ${T_UJ}\n`);
    bad(uncovered, /nova\.ubuntu-jammy: openstack has no tag for ubuntu-jammy/);
    bad('kolla_image_tags: [a, b]\n', /kolla_image_tags: expected a mapping/);
    bad('kolla_image_tags:\n  openstack: {\n', /not valid YAML/);
  });
});

describe('effective tags', () => {
  const tags = parseTags(
    'f',
    `kolla_image_tags:
  openstack: {rocky-9: ${R9}-20240101T000000, ubuntu-jammy: ${UJ}-20240101T000000}
  nova: {rocky-9: ${R9}-20240202T000000}
  nova_compute: {rocky-9: ${R9}-20240303T000000}
  ironic: {rocky-9: ${R9}-20240404T000000}
  ironic_dnsmasq: {rocky-9: ${R9}-20240505T000000}
  neutron: {ubuntu-jammy: ${UJ}-20240606T000000}
`,
  );

  it('takes the container key, else the longest service prefix, else openstack', () => {
    const own = { tag: `${R9}-20240303T000000`, from: 'nova_compute' };
    assert.deepEqual(effectiveTag(tags, 'rocky-9', 'nova_compute'), own);
    assert.deepEqual(effectiveTag(tags, 'rocky-9', 'nova_api'), { tag: `${R9}-20240202T000000`, from: 'nova' });
    assert.deepEqual(effectiveTag(tags, 'ubuntu-jammy', 'nova_api'), { tag: T_UJ, from: 'openstack' });
    assert.equal(effectiveTag(tags, 'rocky-9', 'novajoin')?.from, 'openstack', 'a prefix counts only at a _ boundary');
  });

  it("follows Kolla-Ansible's exceptions to the prefix rule", () => {
    const agent = effectiveTag(tags, 'rocky-9', 'ironic_neutron_agent');
    assert.equal(agent?.from, 'openstack', 'its parent is neutron, absent for rocky-9');
    assert.equal(effectiveTag(tags, 'ubuntu-jammy', 'ironic_neutron_agent')?.from, 'neutron');
    assert.equal(effectiveTag(tags, 'rocky-9', 'nova_compute_ironic')?.from, 'nova', 'not nova_compute');
  });

  it('maps images to their keys: dnsmasq to ironic_dnsmasq, one image to several containers', () => {
    assert.deepEqual(tagKeysOfImage('dnsmasq'), ['ironic_dnsmasq']);
    assert.deepEqual(tagKeysOfImage('nova-compute'), ['nova_compute']);
    const rows = imageTags(tags, ['dnsmasq', 'mariadb-server'], ['rocky-9']).rows;
    assert.deepEqual(
      rows.map((row) => [row.image, row.tag, row.keys.join('+')]),
      [
        ['dnsmasq', `${R9}-20240505T000000`, 'ironic_dnsmasq'],
        ['mariadb-server', `${R9}-20240101T000000`, 'mariadb+mariabackup'],
      ],
    );
  });
});

describe('what a run rolls out', () => {
  const dir = temporaryDir('ci-builder-tags-runs-');
  const summary = (name: string, fields: Record<string, unknown>) => {
    const path = join(dir, `${name}.json`);
    const empty = { built: [], reused: [], failed: [], skipped: [], not_matched: [], unbuildable: [], push_failed: [] };
    const pushed = [{ name: 'x', reference: 'r' }];
    const finished = { images: {}, finished_at: '2025-01-01T01:30:00Z', interrupted: false, pushed };
    writeFileSync(path, JSON.stringify({ tag: NEW_R9, distro: 'rocky', ...empty, ...finished, ...fields }));
    return path;
  };
  const named = (...names: string[]) => names.map((name) => ({ name }));
  const failed = (name: string) => [{ name, status: 'error', reason: 'x' }];

  it('a run that selected every image is full and sets openstack', async () => {
    const run = summary('full', { built: named('base', 'nova-base', 'nova-api'), reused: named('keystone') });
    const rollout = await readRollout(run);
    const present = ['base', 'keystone', 'nova-api', 'nova-base'];
    const at = { summaryFile: run, keyPath: '', label: run, distroKey: 'rocky-9', tag: NEW_R9 };
    assert.deepEqual(rollout, { ...at, notMatched: [], present, failed: [], pushed: true });
    const pinned = `${R9}-20240202T000000`;
    const plan = await planUpdate({ openstack: { 'rocky-9': T_R9 }, nova: { 'rocky-9': pinned } }, [rollout]);
    assert.deepEqual(plan.changes, [{ key: 'openstack', distro: 'rocky-9', from: T_R9, to: NEW_R9 }]);
    assert.deepEqual(plan.stillOverriding, [{ key: 'nova', distro: 'rocky-9', tag: pinned }]);
  });

  it('a partial run sets the keys of the deployable images it built', async () => {
    const built = named('base', 'dnsmasq', 'nova-api', 'nova-compute');
    const partial = { built, failed: failed('nova-compute'), not_matched: named('keystone') };
    const rollout = await readRollout(summary('partial', partial));
    assert.deepEqual(
      combineRuns([rollout]).map((distro) => distro.full),
      [false],
    );
    const plan = await planUpdate({ openstack: { 'rocky-9': T_R9 } }, [rollout]);
    assert.deepEqual(
      plan.changes.map((change) => change.key),
      ['ironic_dnsmasq', 'nova_api'],
    );
  });

  it('refuses a full run with failures, an interrupted run and a tag that is not a run tag', async () => {
    const withFailure = summary('failed', { failed: failed('nova-api') });
    const refused = /failed\.json: failed: a build of every image with 1 failed \(nova-api\)/;
    const failing = await readRollout(withFailure);
    await assert.rejects(planUpdate({}, [failing]), refused);
    await assert.rejects(readRollout(summary('interrupted', { interrupted: true })), /did not finish/);
    const notRunTag = (error: unknown) =>
      error instanceof ConfigError && /tag: "my-tag" is not a run tag/.test(error.message);
    await assert.rejects(readRollout(summary('custom', { tag: 'my-tag' })), notRunTag);
    const twice = [
      await readRollout(summary('a', {})),
      await readRollout(summary('b', { tag: `${R9}-20250202T020202` })),
    ];
    await assert.rejects(planUpdate({}, twice), /two runs for rocky-9 at different tags/);
  });
});

describe("what a pipeline's runs roll out together", () => {
  const named = (...names: string[]) => names.map((name) => ({ name }));
  /** A finished, pushed run of one set as the pipeline's runs leave it. */
  const setSummary = (distro: string, tag: string, fields: Partial<RunSummary>): RunSummary => {
    const pushed = [...(fields.built ?? []), ...(fields.reused ?? [])].map(({ name }) => ({ name, reference: name }));
    return {
      ...{ built: [], failed: [], not_matched: [], skipped: [], unbuildable: [], reused: [], patched: [], pushed },
      ...{ push_failed: [], scanned: [], scan_failed: [], held: [], flaky: [], unmatched_regexes: [] },
      ...{ tag, distro, engine: 'buildah', base_image: null, images: {}, interrupted: false },
      ...{ started_at: '2025-01-01T01:01:01Z', finished_at: '2025-01-01T02:00:00Z' },
      ...fields,
    };
  };
  interface SetRun {
    distro: string;
    set: string;
    summary: RunSummary | null;
    error?: string;
  }
  /** An artifacts folder as `pipeline` writes it: `<distro>/<set>/summary.json` and pipeline-summary.json. */
  const artifacts = (runs: readonly SetRun[], withPipelineSummary = true): string => {
    const dir = temporaryDir('ci-builder-tags-pipeline-');
    for (const run of runs) {
      if (run.summary === null) continue;
      const runDir = join(dir, run.distro, run.set);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'summary.json'), JSON.stringify(run.summary, null, 2));
    }
    const entries = runs.map((run) => ({
      distro: run.distro,
      set: run.set,
      tag: run.summary?.tag ?? NEW_R9,
      run_dir: join(dir, run.distro, run.set),
      exit_code: run.summary === null ? 1 : 0,
      ...(run.error !== undefined ? { error: run.error } : {}),
      summary: run.summary,
    }));
    const pipeline = { exit_code: 0, reasons: [], runs: entries };
    if (withPipelineSummary)
      writeFileSync(join(dir, 'pipeline-summary.json'), `${JSON.stringify(pipeline, null, 2)}\n`);
    return dir;
  };
  const tags = { openstack: { 'rocky-9': T_R9, 'ubuntu-jammy': T_UJ } };
  const changed = async (dir: string) =>
    (await planUpdate(tags, await rolloutsOf(dir))).changes.map(
      (change) => `${change.key} ${change.distro} ${change.to}`,
    );

  /** rocky: the sets together select every image; ubuntu: neither selects bifrost-deploy. */
  const twoDistros: SetRun[] = [
    {
      distro: 'rocky',
      set: 'overcloud',
      summary: setSummary('rocky', NEW_R9, {
        built: named('base', 'openstack-base', 'keystone', 'nova-api'),
        not_matched: named('dnsmasq', 'bifrost-deploy'),
      }),
    },
    {
      distro: 'rocky',
      set: 'seed',
      summary: setSummary('rocky', NEW_R9, {
        built: named('dnsmasq', 'bifrost-deploy'),
        reused: named('base'),
        not_matched: named('keystone', 'nova-api', 'openstack-base'),
      }),
    },
    {
      distro: 'ubuntu',
      set: 'overcloud',
      summary: setSummary('ubuntu', NEW_UJ, {
        built: named('base', 'keystone'),
        not_matched: named('dnsmasq', 'bifrost-deploy'),
      }),
    },
    {
      distro: 'ubuntu',
      set: 'seed',
      summary: setSummary('ubuntu', NEW_UJ, {
        built: named('dnsmasq'),
        not_matched: named('keystone', 'bifrost-deploy'),
      }),
    },
  ];

  it('sets openstack for a distro whose sets selected every image, the keys built for the other', async () => {
    const expected = [
      `openstack rocky-9 ${NEW_R9}`,
      `ironic_dnsmasq ubuntu-jammy ${NEW_UJ}`,
      `keystone ubuntu-jammy ${NEW_UJ}`,
    ];
    assert.deepEqual(await changed(artifacts(twoDistros)), expected);
  });

  it('finds the <distro>/<set> run folders without pipeline-summary.json, and a distro folder alone', async () => {
    const dir = artifacts(twoDistros, false);
    assert.deepEqual((await changed(dir)).sort(), [...(await changed(artifacts(twoDistros)))].sort());
    const ubuntu = [`ironic_dnsmasq ubuntu-jammy ${NEW_UJ}`, `keystone ubuntu-jammy ${NEW_UJ}`];
    assert.deepEqual(await changed(join(dir, 'ubuntu')), ubuntu);
  });

  it('counts an image one set failed to push when another set left it at the tag', async () => {
    const runs = twoDistros.filter((run) => run.distro === 'rocky');
    const [overcloud, seed] = runs;
    assert.ok(overcloud?.summary && seed?.summary);
    const failedPush = { name: 'keystone', reference: 'keystone', reason: 'unauthorized' };
    const seedFailed = setSummary('rocky', NEW_R9, {
      ...seed.summary,
      built: [...seed.summary.built, ...named('bifrost-base')].filter((entry) => entry.name !== 'dnsmasq'),
      failed: [
        { name: 'dnsmasq', status: 'error', reason: 'x' },
        { ...failedPush, status: 'error' },
      ],
      push_failed: [failedPush],
      not_matched: named('nova-api', 'openstack-base'),
    });
    // keystone: failed to push in seed, pushed by overcloud; dnsmasq: failed and nowhere else.
    const withFailure = [overcloud, { ...seed, summary: seedFailed }];
    const sets = /^rocky-9 at \S+ \(.*\(rocky\/overcloud\), .*\(rocky\/seed\)\): /;
    const refused = (error: unknown) =>
      error instanceof UsageError &&
      sets.test(error.message) &&
      error.message.includes('a build of every image with 1 failed (dnsmasq)');
    await assert.rejects(changed(artifacts(withFailure)), refused);
    // With dnsmasq left out of both sets, the rollout is partial and keystone is among the images at the tag.
    const seedPartial = { ...seedFailed, failed: seedFailed.failed.filter((entry) => entry.name !== 'dnsmasq') };
    const overcloudPartial = { ...overcloud.summary, not_matched: named('bifrost-deploy', 'dnsmasq') };
    const partial = [
      { ...overcloud, summary: overcloudPartial },
      { ...seed, summary: { ...seedPartial, not_matched: [...seedPartial.not_matched, ...named('dnsmasq')] } },
    ];
    const keys = [`keystone rocky-9 ${NEW_R9}`, `nova_api rocky-9 ${NEW_R9}`, `bifrost_deploy rocky-9 ${NEW_R9}`];
    assert.deepEqual((await changed(artifacts(partial))).sort(), keys.sort());
  });

  it('leaves out held and unscanned images: they are not in the registry', async () => {
    const runs = [
      {
        distro: 'ubuntu',
        set: 'overcloud',
        summary: setSummary('ubuntu', NEW_UJ, {
          built: named('keystone', 'nova-api', 'glance-api'),
          held: [{ name: 'nova-api', reference: 'nova-api', verdict: 'critical' }],
          scan_failed: [{ name: 'glance-api', reference: 'glance-api', reason: 'x' }],
          not_matched: named('dnsmasq'),
        }),
      },
    ];
    assert.deepEqual(await changed(artifacts(runs)), [`keystone ubuntu-jammy ${NEW_UJ}`]);
  });

  it('takes the newest folder of the runs folder, a pipeline as well as a build run', () => {
    const runsDir = temporaryDir('ci-builder-tags-latest-');
    const build = join(runsDir, NEW_R9);
    mkdirSync(build);
    writeFileSync(join(build, 'summary.json'), JSON.stringify(setSummary('rocky', NEW_R9, {})));
    const pipeline = artifacts(twoDistros);
    const pipelineDir = join(runsDir, '2024.1-20250101T010101');
    mkdirSync(pipelineDir);
    writeFileSync(join(pipelineDir, 'pipeline-summary.json'), readFileSync(join(pipeline, 'pipeline-summary.json')));
    utimesSync(join(build, 'summary.json'), new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'));
    assert.equal(latestRun(runsDir), pipelineDir);
    utimesSync(join(build, 'summary.json'), new Date(), new Date(Date.now() + 60_000));
    assert.equal(latestRun(runsDir), build);
  });

  it('refuses the runs of one distro at different tags, and a run that left no summary, in one line', async () => {
    const [overcloud, seed] = twoDistros;
    assert.ok(overcloud?.summary && seed?.summary);
    const later = `${R9}-20250202T020202`;
    const mixed = artifacts([overcloud, { ...seed, summary: { ...seed.summary, tag: later } }]);
    const differentTags = (error: unknown) =>
      error instanceof UsageError &&
      !error.message.includes('\n') &&
      error.message.startsWith(`two runs for rocky-9 at different tags: ${NEW_R9} (`) &&
      error.message.includes(`${later} (`);
    await assert.rejects(changed(mixed), differentTags);
    const failedToStart = artifacts([overcloud, { distro: 'rocky', set: 'seed', summary: null, error: 'no repo' }]);
    const noSummary = (error: unknown) =>
      error instanceof ConfigError &&
      /pipeline-summary\.json: runs\.1\.summary: the rocky\/seed run left no summary \(no repo\)/.test(error.message);
    await assert.rejects(changed(failedToStart), noSummary);
  });
});

describe('tags update on the file as it is', () => {
  const tagsAt = (tag: string) => `kolla_image_tags:\n  openstack:\n    rocky-9: ${tag}   # default\n`;
  const update = async (path: string) =>
    writeTagChanges(readTagsFile(path), [change('openstack', 'rocky-9', NEW_R9), change('nova', 'rocky-9', NEW_R9)]);
  const added = `  nova:\n    rocky-9: ${NEW_R9}\n`;

  it('keeps every byte it does not change: a Latin-1 comment, a UTF-8 one after its BOM', async () => {
    const dir = temporaryDir();
    const latin1 = join(dir, 'latin1.yml');
    // "# Café «cloud»" in Latin-1: bytes that are not UTF-8.
    const comment = Buffer.from([
      0x23, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x20, 0xab, 0x63, 0x6c, 0x6f, 0x75, 0x64, 0xbb, 0x0a,
    ]);
    writeFileSync(latin1, Buffer.concat([comment, Buffer.from(tagsAt(T_R9))]));
    await update(latin1);
    assert.deepEqual(readFileSync(latin1), Buffer.concat([comment, Buffer.from(`${tagsAt(NEW_R9)}${added}`)]));

    const utf8 = join(dir, 'utf8.yml');
    const text = `\uFEFF# Tags — café ✓\n${tagsAt(T_R9)}`;
    writeFileSync(utf8, text);
    await update(utf8);
    assert.deepEqual(readFileSync(utf8), Buffer.from(`${text.replace(T_R9, NEW_R9)}${added}`));
  });

  it('writes through a symbolic link to its target, keeping its mode and owner', async () => {
    const dir = temporaryDir();
    mkdirSync(join(dir, 'kayobe'));
    const target = join(dir, 'kayobe', 'real-tags.yml');
    const link = join(dir, 'kolla-image-tags.yml');
    writeFileSync(target, tagsAt(T_R9));
    chmodSync(target, 0o600);
    const root = process.getuid?.() === 0;
    if (root) chownSync(target, 4321, 4322);
    symlinkSync('kayobe/real-tags.yml', link);
    await update(link);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link stays a link');
    assert.equal(readlinkSync(link), 'kayobe/real-tags.yml');
    assert.equal(readFileSync(target, 'utf8'), `${tagsAt(NEW_R9)}${added}`, 'the target holds the new tags');
    const stats = statSync(target);
    assert.equal(stats.mode & 0o7777, 0o600);
    if (root) assert.deepEqual([stats.uid, stats.gid], [4321, 4322]);

    const readOnly = join(dir, 'read-only.yml');
    writeFileSync(readOnly, tagsAt(T_R9));
    chmodSync(readOnly, 0o444);
    await update(readOnly);
    assert.equal(statSync(readOnly).mode & 0o7777, 0o444);
    assert.deepEqual(readdirSync(join(dir, 'kayobe')), ['real-tags.yml'], 'no temporary file left behind');
  });

  /** A partial run of `count` deployable images, and a tags file. */
  const bigRun = (count: number) => {
    const dir = temporaryDir();
    const names = Array.from({ length: count }, (_, index) => ({ name: `svc${index}-api` }));
    const run = (tag: string) => ({
      tag,
      distro: 'rocky',
      built: names,
      failed: [],
      skipped: [],
      not_matched: [{ name: 'horizon' }],
      pushed: names.map(({ name }) => ({ name, reference: `r/${name}:${tag}` })),
      finished_at: '2025-01-01T01:01:01Z',
      images: {},
    });
    mkdirSync(join(dir, 'first'));
    mkdirSync(join(dir, 'second'));
    writeFileSync(join(dir, 'first', 'summary.json'), JSON.stringify(run(NEW_R9)));
    writeFileSync(join(dir, 'second', 'summary.json'), JSON.stringify(run(`${R9}-20250202T020202`)));
    writeFileSync(join(dir, 'tags.yml'), tagsAt(T_R9));
    return dir;
  };
  const updateFrom = async (dir: string, run: string, pace?: Pace) => {
    const file = readTagsFile(join(dir, 'tags.yml'));
    const plan = await planUpdate(file.tags, await rolloutsOf(join(dir, run)), pace);
    await writeTagChanges(file, plan.changes, false, pace);
    return plan.changes.length;
  };

  it('does work that grows with the run, not with its square: counted, adding keys and changing them', async () => {
    const work = async (count: number) => {
      const dir = bigRun(count);
      return [
        await countOperations(() => updateFrom(dir, 'first')),
        await countOperations(() => updateFrom(dir, 'second')),
      ];
    };
    const [small, large] = [await work(100), await work(400)];
    for (const [step, index] of [
      ['adding', 0],
      ['changing', 1],
    ] as const) {
      const ratio = (large[index] ?? 0) / (small[index] ?? 1);
      // Linear work grows 4 times for 4 times the images, quadratic 16 times.
      assert.ok(ratio < 6, `${step} 400 keys takes ${ratio.toFixed(1)} times the work of 100`);
    }
  });

  it('stops in its loops at an aborted signal, writing nothing', async () => {
    const dir = bigRun(20_000);
    const before = readFileSync(join(dir, 'tags.yml'), 'utf8');
    const controller = new AbortController();
    // The abort comes from an event, as SIGTERM's does: only a loop that gives the event loop a turn sees it.
    setImmediate(() => controller.abort());
    const pace = new Pace(controller.signal);
    await assert.rejects(updateFrom(dir, 'first', pace), { name: 'InterruptedError' });
    assert.ok(pace.steps > 0 && pace.steps < 20_000, `stopped after ${pace.steps} steps, not at the end`);
    assert.equal(readFileSync(join(dir, 'tags.yml'), 'utf8'), before);
  });

  it('refuses an edit that would make the file larger than a tags file may be', async () => {
    const dir = temporaryDir();
    const path = join(dir, 'tags.yml');
    writeFileSync(path, `${tagsAt(T_R9)}# ${'x'.repeat(4 * 1024 * 1024 - 100)}\n`);
    const before = readFileSync(path, 'utf8');
    await assert.rejects(
      update(path),
      (error: unknown) =>
        error instanceof UsageError &&
        /tags file would be 4\.0 MiB, more than the 4\.0 MiB allowed; not written$/.test(error.message),
    );
    assert.equal(readFileSync(path, 'utf8'), before);
  });
});

describe('tags commands given files someone else made', () => {
  const tagsCli = (args: string[], cwd: string) => runCliBounded(['tags', ...args], { cwd }, 20_000);
  const refused = (result: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
  };

  it('refuses a FIFO, a device and an oversized file as the tags file, at once', async () => {
    const dir = temporaryDir();
    execFileSync('mkfifo', [join(dir, 'fifo.yml')]);
    refused(
      await tagsCli(['list', '--file', join(dir, 'fifo.yml')], dir),
      /fifo\.yml: tags file is a FIFO, not a regular file\n$/,
    );
    refused(
      await tagsCli(['list', '--file', '/dev/zero'], dir),
      /^ci-builder: error: \/dev\/zero: tags file is a device/,
    );
    writeFileSync(join(dir, 'big.yml'), `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    refused(
      await tagsCli(['list', '--file', join(dir, 'big.yml')], dir),
      /big\.yml: tags file is 5\.0 MiB, more than the 4\.0 MiB allowed\n$/,
    );
  });

  it('refuses a --run that is a FIFO, or a run folder whose summary.json is one, in one line', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'tags.yml'), `kolla_image_tags:\n  openstack:\n    rocky-9: ${T_R9}\n`);
    execFileSync('mkfifo', [join(dir, 'run.json')]);
    const update = (run: string) => tagsCli(['update', '--file', join(dir, 'tags.yml'), '--run', run], dir);
    refused(await update(join(dir, 'run.json')), /run\.json: run summary is a FIFO, not a regular file\n$/);
    mkdirSync(join(dir, 'run'));
    execFileSync('mkfifo', [join(dir, 'run', 'summary.json')]);
    refused(await update(join(dir, 'run')), /run\/summary\.json: run summary is a FIFO, not a regular file\n$/);
  });

  it('names the file and the place of a JSON error, never the content', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'tags.yml'), `kolla_image_tags:\n  openstack:\n    rocky-9: ${T_R9}\n`);
    writeFileSync(join(dir, 'shadow'), 'root:$6$SECRET-HASH:20228:0:99999:7:::\n');
    const result = await tagsCli(['update', '--file', join(dir, 'tags.yml'), '--run', join(dir, 'shadow')], dir);
    refused(result, /shadow: line 1, column 1: not a valid JSON run summary\n$/);
    assert.doesNotMatch(result.stderr, /root|SECRET/);
  });
});
