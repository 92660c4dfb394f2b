import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { projectRoot, temporaryDir } from '../helpers/files.js';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string | number | boolean>;
}

interface Job {
  'runs-on': string | string[];
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown> };
  steps: Step[];
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return parse(readFileSync(join(projectRoot, '.github/workflows', file), 'utf8')) as Workflow;
}

function job(flow: Workflow, name: string): Job {
  const found = flow.jobs[name];
  assert.ok(found, `job ${name}`);
  return found;
}

function step(steps: Step[], matches: (step: Step) => boolean, what: string): Step {
  const found = steps.filter(matches);
  assert.equal(found.length, 1, `one step ${what}`);
  return found[0] as Step;
}

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

/**
 * Runs a step's script as the runner does (`bash -e`), with the step's env mapping replaced by
 * the values given: every key given must be one the step declares.
 */
function runStep(script: Step, env: Record<string, string>, cwd: string) {
  for (const key of Object.keys(env)) assert.ok(script.env && key in script.env, `the step declares ${key}`);
  const output = join(cwd, 'github-output');
  writeFileSync(output, '');
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script.run ?? ''], {
    cwd,
    env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, output: readFileSync(output, 'utf8') };
}

describe('the container image build workflow', () => {
  const flow = workflow('container-image-build.yml');
  const stamp = job(flow, 'timestamp');
  const build = job(flow, 'build');

  it('is started by hand with the operators’ inputs', () => {
    const dispatch = flow.on.workflow_dispatch as { inputs: Record<string, { type: string; default: unknown }> };
    const types = Object.fromEntries(Object.entries(dispatch.inputs).map(([name, input]) => [name, input.type]));
    assert.deepEqual(types, {
      regexes: 'string',
      overcloud: 'boolean',
      seed: 'boolean',
      distros: 'string',
      push: 'boolean',
      'push-dirty': 'boolean',
      shards: 'number',
    });
    assert.equal(dispatch.inputs.shards?.default, 1, 'one job per distro unless asked');
    assert.equal(dispatch.inputs['push-dirty']?.default, false, 'critical images stay out unless asked');
  });

  it('computes the timestamp once and gives it to every distro of the matrix', () => {
    assert.deepEqual(build.needs, ['timestamp', 'plan']);
    assert.equal(build.strategy?.['fail-fast'], false, 'one distro failing does not cancel the others');
    assert.deepEqual(build.strategy.matrix, {
      distro: '${{ fromJSON(needs.timestamp.outputs.distros) }}',
      shard: '${{ fromJSON(needs.timestamp.outputs.shards) }}',
    });
    const pipeline = step(build.steps, (entry) => /\.\/ci-builder pipeline/.test(entry.run ?? ''), 'running pipeline');
    assert.equal(pipeline.env?.TIMESTAMP, '${{ needs.timestamp.outputs.timestamp }}');
    assert.deepEqual(stamp.outputs, {
      timestamp: '${{ steps.timestamp.outputs.timestamp }}',
      distros: '${{ steps.distros.outputs.distros }}',
      names: '${{ steps.distros.outputs.names }}',
      shards: '${{ steps.shards.outputs.shards }}',
    });
    const dir = temporaryDir('ci-builder-workflow-');
    const timestamp = runStep(
      step(stamp.steps, (entry) => entry.id === 'timestamp', 'timestamp'),
      {},
      dir,
    );
    assert.match(timestamp.output, /^timestamp=\d{8}T\d{6}\n$/);
  });

  it('turns the distros input into the matrix, and refuses what is not a distro name', () => {
    const script = step(stamp.steps, (entry) => entry.id === 'distros', 'distros');
    assert.equal(script.env?.DISTROS, '${{ inputs.distros }}', 'the input reaches the script as data, not as code');
    const dir = temporaryDir('ci-builder-workflow-');
    const matrix = runStep(script, { DISTROS: 'debian, rocky,ubuntu' }, dir);
    assert.equal(matrix.code, 0, matrix.stderr);
    const [distros, names] = matrix.output.trimEnd().split('\n');
    assert.deepEqual(JSON.parse(distros?.replace(/^distros=/, '') ?? ''), ['debian', 'rocky', 'ubuntu']);
    assert.equal(names, 'names=debian rocky ubuntu');
    for (const bad of ['debian;touch pwned', '"rocky"', '', ' , ']) {
      const refused = runStep(script, { DISTROS: bad }, dir);
      assert.equal(refused.code, 2, `refused: ${JSON.stringify(bad)}`);
      assert.equal(refused.output, '', 'no matrix written');
    }
  });

  it('sets up as the README says, then runs the pipeline with exactly the inputs given', () => {
    const setup = step(build.steps, (entry) => entry.run === 'bash scripts/install-deps.sh', 'installing');
    assert.ok(readme.includes(`    ${setup.run}`), 'the README has the set-up command');
    assert.ok(/^ {4}\.\/ci-builder pipeline .*--timestamp T --artifacts artifacts\/D/m.test(readme));
    const order = build.steps.map((entry) => entry.uses?.replace(/@.*/, '') ?? entry.run?.split('\n')[0]);
    assert.deepEqual(order.slice(0, 3), ['actions/checkout', 'actions/setup-node', 'bash scripts/install-deps.sh']);

    const pipeline = step(build.steps, (entry) => /\.\/ci-builder pipeline/.test(entry.run ?? ''), 'running pipeline');
    // Each input reaches the script as data in a variable of its name, never spliced into the code.
    for (const key of ['REGEXES', 'OVERCLOUD', 'SEED', 'PUSH', 'PUSH_DIRTY'])
      assert.equal(pipeline.env?.[key], `\${{ inputs.${key.toLowerCase().replace('_', '-')} }}`);
    assert.ok(!/\$\{\{/.test(pipeline.run ?? ''), 'no expression in the script itself');
    // Stands in for the command: prints the arguments it was given, one a line.
    const dir = temporaryDir('ci-builder-workflow-');
    writeFileSync(
      join(dir, 'ci-builder'),
      '#!/usr/bin/env bash\nprintf "%s\\n" "$@"\necho "vault password: ${CI_BUILDER_VAULT_PASSWORD-unset}" >&2\n',
    );
    chmodSync(join(dir, 'ci-builder'), 0o755);
    const given = (env: Record<string, string>) => {
      const defaults = { DISTRO: 'debian', TIMESTAMP: '20260102T030405', REGEXES: '', PUSH: 'false', SHARD: '1' };
      env = { SHARDS: '1', ...env };
      return runStep(pipeline, { ...defaults, OVERCLOUD: 'true', SEED: 'false', PUSH_DIRTY: 'false', ...env }, dir);
    };
    const all = given({ REGEXES: ' ^nova  keystone$ ', SEED: 'true', PUSH: 'true', PUSH_DIRTY: 'true' });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trimEnd().split('\n'), [
      'pipeline',
      '--distro',
      'debian',
      '--set',
      'overcloud,seed',
      '--timestamp',
      '20260102T030405',
      '--artifacts',
      'artifacts/debian',
      '--push',
      '--push-dirty',
      '--',
      '^nova',
      'keystone$',
    ]);
    const seedOnly = given({ OVERCLOUD: 'false', SEED: 'true', DISTRO: 'rocky' });
    assert.deepEqual(seedOnly.stdout.trimEnd().split('\n').slice(1), [
      '--distro',
      'rocky',
      '--set',
      'seed',
      '--timestamp',
      '20260102T030405',
      '--artifacts',
      'artifacts/rocky',
      '--',
    ]);
    const pushOnly = given({ PUSH: 'true' }).stdout.trimEnd().split('\n');
    assert.deepEqual(
      pushOnly.slice(-3),
      ['artifacts/debian', '--push', '--'],
      'critical images are held without push-dirty',
    );
    // Words of the regexes input that look like options stay regexes: after --, which the command refuses.
    const injected = given({ REGEXES: '--push-dirty --images-dir /tmp/evil keystone' }).stdout.trimEnd().split('\n');
    const end = injected.indexOf('--');
    assert.deepEqual(injected.slice(end + 1), ['--push-dirty', '--images-dir', '/tmp/evil', 'keystone']);
    assert.ok(!injected.slice(0, end).includes('--push-dirty') && !injected.slice(0, end).includes('--images-dir'));
    const nothing = given({ OVERCLOUD: 'false' });
    assert.equal(nothing.code, 2);
    assert.equal(nothing.stdout, '::error title=inputs::choose overcloud, seed or both\n', 'the pipeline did not run');
    assert.equal(all.stderr, 'vault password: unset\n', 'an unset secret is no empty password');
    const vault = given({ VAULT_PASSWORD: 'from the secret' });
    assert.equal(vault.stderr, 'vault password: from the secret\n', 'it reaches the command by its variable');
    assert.ok(!vault.stdout.includes('from the secret'), 'never as an argument');
    const sharded = given({ PUSH: 'true', SHARD: '2', SHARDS: '3' });
    assert.equal(sharded.code, 0, sharded.stderr);
    assert.deepEqual(sharded.stdout.trimEnd().split('\n').slice(-6), [
      '--push',
      '--shard',
      '2/3',
      '--shard-plan',
      'shard-plans/debian.json',
      '--',
    ]);
    assert.equal(pipeline.env?.SHARD, '${{ matrix.shard }}');
    assert.equal(pipeline.env.SHARDS, '${{ inputs.shards }}');
    const download = step(
      build.steps,
      (entry) => entry.uses?.startsWith('actions/download-artifact@') ?? false,
      'plans',
    );
    assert.deepEqual(download.with, { name: 'shard-plans', path: 'shard-plans' });
    assert.ok(build.steps.indexOf(download) < build.steps.indexOf(pipeline), 'the plan is there before the pipeline');
  });

  it('uploads the artifacts folder of its distro even when the pipeline failed', () => {
    const upload = step(build.steps, (entry) => entry.uses?.startsWith('actions/upload-artifact@') ?? false, 'upload');
    assert.equal(upload.if, '${{ always() }}');
    assert.equal(upload.with?.path, 'artifacts/${{ matrix.distro }}');
    assert.equal(upload.with.name, 'ci-builder-${{ matrix.distro }}-${{ matrix.shard }}', 'one artifact per job');
    assert.equal(build.steps.at(-1), upload, 'after the pipeline');
  });
});

describe('the container image build workflow split into shards', () => {
  const flow = workflow('container-image-build.yml');
  const stamp = job(flow, 'timestamp');
  const plan = job(flow, 'plan');
  const merge = job(flow, 'merge');

  /** A stand-in ci-builder that prints its arguments, one a line. */
  const withStandIn = () => {
    const dir = temporaryDir('ci-builder-workflow-');
    writeFileSync(join(dir, 'ci-builder'), '#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n');
    chmodSync(join(dir, 'ci-builder'), 0o755);
    return dir;
  };

  it('turns the shards input into the matrix, and refuses shards without push', () => {
    const script = step(stamp.steps, (entry) => entry.id === 'shards', 'shards');
    assert.deepEqual(script.env, { SHARDS: '${{ inputs.shards }}', PUSH: '${{ inputs.push }}' });
    const dir = temporaryDir('ci-builder-workflow-');
    assert.equal(runStep(script, { SHARDS: '3', PUSH: 'true' }, dir).output, 'shards=[1,2,3]\n');
    assert.equal(runStep(script, { SHARDS: '1', PUSH: 'false' }, dir).output, 'shards=[1]\n');
    for (const [shards, push, error] of [
      ['0', 'true', 'not a number of shards from 1 to 99: 0'],
      ['2;id', 'true', 'not a number of shards from 1 to 99: 2;id'],
      ['', 'true', 'not a number of shards from 1 to 99: '],
      ['2', 'false', 'more than one shard needs push'],
    ] as const) {
      const refused = runStep(script, { SHARDS: shards, PUSH: push }, dir);
      assert.equal(refused.code, 2);
      assert.equal(refused.stdout, `::error title=shards::${error}\n`);
      assert.equal(refused.output, '', 'no matrix written');
    }
  });

  it('plans each distro once, over the images the pipeline builds, and uploads the plans', () => {
    assert.equal(plan.needs, 'timestamp');
    const script = step(plan.steps, (entry) => /shard plan/.test(entry.run ?? ''), 'planning');
    assert.ok(!/\$\{\{/.test(script.run ?? ''), 'no expression in the script itself');
    assert.equal(script.env?.DISTROS, '${{ needs.timestamp.outputs.names }}');
    const planned = (env: Record<string, string>) => {
      const dir = withStandIn();
      const defaults = { DISTROS: 'debian rocky', SHARDS: '3', REGEXES: '', OVERCLOUD: 'true', SEED: 'false' };
      const result = runStep(script, { ...defaults, ...env }, dir);
      const read = (distro: string) => readFileSync(join(dir, 'shard-plans', `${distro}.json`), 'utf8').trimEnd();
      return { ...result, read };
    };
    const both = planned({ REGEXES: ' ^nova keystone$', SEED: 'true' });
    assert.equal(both.code, 0, both.stderr);
    const expected = (distro: string, ...selection: string[]) =>
      ['--json', 'shard', 'plan', '--shards', '3', '--distro', distro, ...selection].join('\n');
    assert.equal(both.read('debian'), expected('debian', '--set', 'seed', '--', '^nova', 'keystone$'));
    assert.equal(both.read('rocky'), expected('rocky', '--set', 'seed', '--', '^nova', 'keystone$'));
    assert.equal(planned({ SEED: 'true' }).read('debian'), expected('debian', '--set', 'overcloud,seed', '--'));
    assert.equal(planned({}).read('debian'), expected('debian', '--set', 'overcloud', '--'));
    const seedOnly = planned({ OVERCLOUD: 'false', SEED: 'true', REGEXES: '^nova' });
    assert.equal(seedOnly.read('debian'), expected('debian', '--set', 'seed', '--'), 'regexes replace overcloud only');
    const injected = planned({ REGEXES: '--set seed --images-dir /tmp/evil' }).read('debian');
    assert.equal(
      injected,
      expected('debian', '--', '--set', 'seed', '--images-dir', '/tmp/evil'),
      'words stay regexes',
    );
    assert.equal(planned({ OVERCLOUD: 'false' }).code, 2);
    const upload = step(plan.steps, (entry) => entry.uses?.startsWith('actions/upload-artifact@') ?? false, 'upload');
    assert.equal(upload.with?.name, 'shard-plans');
  });

  it("merges each distro and set over the shards' artifacts, and uploads the merged folders", () => {
    assert.deepEqual(merge.needs, ['timestamp', 'build']);
    assert.equal(merge.if, "${{ always() && needs.timestamp.result == 'success' }}", 'failed shards are merged too');
    const download = step(merge.steps, (entry) => entry.uses?.startsWith('actions/download-artifact@') ?? false, 'get');
    assert.deepEqual(download.with, { pattern: 'ci-builder-*', path: 'shards' });
    const script = step(merge.steps, (entry) => /summary merge/.test(entry.run ?? ''), 'merging');
    const dir = withStandIn();
    writeFileSync(join(dir, 'ci-builder'), '#!/usr/bin/env bash\necho "$*" >> calls\n');
    for (const folder of [
      'ci-builder-debian-1/debian/overcloud',
      'ci-builder-debian-2/debian/overcloud',
      'ci-builder-debian-2/debian/seed',
      'ci-builder-rocky-1/rocky/overcloud',
    ])
      mkdirSync(join(dir, 'shards', folder), { recursive: true });
    const result = runStep(script, {}, dir);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readFileSync(join(dir, 'calls'), 'utf8').trimEnd().split('\n'), [
      'summary merge shards/ci-builder-debian-1/debian/overcloud shards/ci-builder-debian-2/debian/overcloud ' +
        '--out merged/debian/overcloud',
      'summary merge shards/ci-builder-debian-2/debian/seed --out merged/debian/seed',
      'summary merge shards/ci-builder-rocky-1/rocky/overcloud --out merged/rocky/overcloud',
    ]);
    writeFileSync(join(dir, 'ci-builder'), '#!/usr/bin/env bash\n[ "$3" != shards/ci-builder-debian-2/debian/seed ]\n');
    assert.equal(runStep(script, {}, dir).code, 1, 'a refused merge fails the job, after the others');
    const empty = withStandIn();
    assert.equal(runStep(script, {}, empty).code, 1);
    const upload = step(merge.steps, (entry) => entry.uses?.startsWith('actions/upload-artifact@') ?? false, 'upload');
    assert.deepEqual(
      [upload.with?.name, upload.with?.path, upload.if],
      ['ci-builder-merged', 'merged', '${{ always() }}'],
    );
  });
});

/** The guard that keeps a pull request from a fork off a job: its head is this repository's own. */
const FORK_GUARD =
  "${{ github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository }}";

describe('every workflow', () => {
  for (const file of ['ci.yml', 'container-image-build.yml']) {
    it(`${file}: runs no pull request from a fork on a self-hosted runner`, () => {
      const flow = workflow(file);
      // pull_request_target would run with this repository's secrets: never used.
      assert.ok(!('pull_request_target' in flow.on), 'no pull_request_target');
      const onPullRequests = 'pull_request' in flow.on;
      for (const [name, each] of Object.entries(flow.jobs)) {
        const runsOn = Array.isArray(each['runs-on']) ? each['runs-on'] : [each['runs-on']];
        if (!onPullRequests || !runsOn.includes('self-hosted')) continue;
        assert.equal(each.if, FORK_GUARD, `job ${name}`);
      }
    });
  }
});

describe('the CI workflow', () => {
  const flow = workflow('ci.yml');

  it('runs the tests as .ci/run does, on pull requests and pushes to main', () => {
    assert.deepEqual(Object.keys(flow.on).sort(), ['pull_request', 'push']);
    assert.deepEqual((flow.on.push as { branches: string[] }).branches, ['main']);
    const steps = job(flow, 'test').steps;
    step(steps, (entry) => entry.run === 'bash .ci/run', 'running .ci/run');
    assert.ok(readme.includes('`bash .ci/run`'), 'the README names it');
    assert.match(readFileSync(join(projectRoot, '.ci/run'), 'utf8'), /bash scripts\/install-deps\.sh && npm test/);
  });
});
