import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
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
    });
    assert.equal(dispatch.inputs['push-dirty']?.default, false, 'critical images stay out unless asked');
  });

  it('computes the timestamp once and gives it to every distro of the matrix', () => {
    assert.equal(build.needs, 'timestamp');
    assert.equal(build.strategy?.['fail-fast'], false, 'one distro failing does not cancel the others');
    assert.deepEqual(build.strategy.matrix, { distro: '${{ fromJSON(needs.timestamp.outputs.distros) }}' });
    const pipeline = step(build.steps, (entry) => /\.\/ci-builder pipeline/.test(entry.run ?? ''), 'running pipeline');
    assert.equal(pipeline.env?.TIMESTAMP, '${{ needs.timestamp.outputs.timestamp }}');
    assert.deepEqual(stamp.outputs, {
      timestamp: '${{ steps.timestamp.outputs.timestamp }}',
      distros: '${{ steps.distros.outputs.distros }}',
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
    assert.deepEqual(JSON.parse(matrix.output.replace(/^distros=/, '')), ['debian', 'rocky', 'ubuntu']);
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
      const defaults = { DISTRO: 'debian', TIMESTAMP: '20260102T030405', REGEXES: '', PUSH: 'false' };
      return runStep(pipeline, { ...defaults, OVERCLOUD: 'true', SEED: 'false', PUSH_DIRTY: 'false', ...env }, dir);
    };
    const all = given({ REGEXES: ' ^nova  keystone$ ', SEED: 'true', PUSH: 'true', PUSH_DIRTY: 'true' });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trimEnd().split('\n'), [
      'pipeline',
      '^nova',
      'keystone$',
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
    ]);
    const pushOnly = given({ PUSH: 'true' }).stdout.trimEnd().split('\n');
    assert.deepEqual(pushOnly.slice(-2), ['artifacts/debian', '--push'], 'critical images are held without push-dirty');
    const nothing = given({ OVERCLOUD: 'false' });
    assert.equal(nothing.code, 2);
    assert.equal(nothing.stdout, '::error title=inputs::choose overcloud, seed or both\n', 'the pipeline did not run');
    assert.equal(all.stderr, 'vault password: unset\n', 'an unset secret is no empty password');
    const vault = given({ VAULT_PASSWORD: 'from the secret' });
    assert.equal(vault.stderr, 'vault password: from the secret\n', 'it reaches the command by its variable');
    assert.ok(!vault.stdout.includes('from the secret'), 'never as an argument');
  });

  it('uploads the artifacts folder of its distro even when the pipeline failed', () => {
    const upload = step(build.steps, (entry) => entry.uses?.startsWith('actions/upload-artifact@') ?? false, 'upload');
    assert.equal(upload.if, '${{ always() }}');
    assert.equal(upload.with?.path, 'artifacts/${{ matrix.distro }}');
    assert.equal(upload.with.name, 'ci-builder-${{ matrix.distro }}', 'one artifact per distro');
    assert.equal(build.steps.at(-1), upload, 'after the pipeline');
  });
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
