import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { withImageSelection } from '../../src/cli/options.js';
import { withRunOptions } from '../../src/cli/run-options.js';
import { createProgram } from '../../src/cli/program.js';
import { UsageError } from '../../src/util/errors.js';

const selectionFlags = ['--distro', '--set', '--profile', '--images-dir', '--skip-parents'];

function command(path: string): CommandUnknownOpts {
  let found: CommandUnknownOpts = createProgram(new AbortController().signal, () => undefined);
  for (const name of path.split(' ')) {
    const next = found.commands.find((sub) => sub.name() === name);
    assert.ok(next, `no command ${path}`);
    found = next;
  }
  return found;
}

/** How --help shows a command's flags: flags and help text of each option. */
function shownOptions(path: string, longs: readonly string[]): string[] {
  return command(path)
    .options.filter((option) => option.long !== undefined && longs.includes(option.long))
    .map((option) => `${option.flags}  ${option.description}`);
}

describe('one declaration of the selection flags', () => {
  it('build and every images subcommand show the same selection flags, with the same help', () => {
    const build = shownOptions('build', selectionFlags);
    assert.equal(build.length, selectionFlags.length);
    for (const path of ['images list', 'images deps', 'images render', 'images test']) {
      assert.deepEqual(shownOptions(path, selectionFlags), build, path);
      const regexHelp = (at: string) => command(at).registeredArguments[0]?.description;
      assert.equal(regexHelp(path), regexHelp('build'));
    }
    const overrideHelp = (at: string) => shownOptions(at, ['--template-override']);
    assert.deepEqual(overrideHelp('images render'), overrideHelp('build'));
    assert.match(command('build').helpInformation(), /--images-dir <dir> +extra image tree/);
  });

  it('keeps the option types and collects lists and repeats as before', () => {
    let seen: { regexes: string[]; distro?: string[]; imagesDir?: string[]; skipParents?: true } | undefined;
    const probe = withImageSelection(new Command('probe')).action((regexes, options) => {
      // Typed, not `{}`: these assignments do not compile if the helper loses the option types.
      const distro: string[] | undefined = options.distro;
      const imagesDir: string[] | undefined = options.imagesDir;
      const skipParents: true | undefined = options.skipParents;
      seen = { regexes };
      if (distro) seen.distro = distro;
      if (imagesDir) seen.imagesDir = imagesDir;
      if (skipParents) seen.skipParents = skipParents;
    });
    const distros = ['--distro', 'debian, rocky', '--distro', 'ubuntu'];
    probe.parse(['keystone', ...distros, '--images-dir', 'a', '--images-dir', 'b', '--skip-parents'], { from: 'user' });
    const expected = { regexes: ['keystone'], distro: ['debian', 'rocky', 'ubuntu'], imagesDir: ['a', 'b'] };
    assert.deepEqual(seen, { ...expected, skipParents: true });
    probe.parse(['--distro', 'debian', '--', '^nova', 'keystone$'], { from: 'user' });
    assert.deepEqual(seen, { regexes: ['^nova', 'keystone$'], distro: ['debian'] }, 'regexes after --');
  });

  it('refuses a regex that looks like an option, after -- too, before anything runs', async () => {
    for (const args of [
      ['pipeline', '--distro', 'debian', '--', '^nova', '--push-dirty'],
      ['build', '--', '--images-dir=/tmp/evil'],
      ['shard', 'plan', '--shards', '2', '--', '-v'],
      ['images', 'list', '--', '--set', 'seed'],
    ]) {
      let ran = false;
      const program = createProgram(new AbortController().signal, () => undefined);
      // Nothing may run: a command that got this far is stopped here, and the test fails.
      const stop = () => {
        ran = true;
        throw new Error('the command ran');
      };
      for (const sub of program.commands.flatMap((each) => [each, ...each.commands])) sub.hook('preAction', stop);
      const regex = args.slice(args.indexOf('--') + 1).find((arg) => arg.startsWith('-')) ?? '';
      await assert.rejects(program.parseAsync(args, { from: 'user' }), (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        const expected = `image regex ${JSON.stringify(regex)} looks like an option: no image name starts with "-"; options go before --`;
        assert.equal(error.message, expected);
        return true;
      });
      assert.equal(ran, false, `${args.join(' ')}: nothing ran`);
    }
  });
});

describe('one declaration of the run options', () => {
  const runFlags = [
    '--engine',
    '--builders',
    '--threads',
    '--retries',
    '--push',
    '--push-threads',
    '--auth-proxy',
    '--package-cache',
    '--no-package-cache',
    '--full',
  ];
  /** Help text that must not differ between commands: the two that name the command's own work may. */
  const sameEverywhere = runFlags.filter((flag) => flag !== '--threads' && flag !== '--push');

  it('build and pipeline take every run option, with the same help', () => {
    assert.equal(shownOptions('build', runFlags).length, runFlags.length);
    assert.equal(shownOptions('pipeline', runFlags).length, runFlags.length);
    assert.deepEqual(shownOptions('pipeline', sameEverywhere), shownOptions('build', sameEverywhere));
    const engineHelp = command('pipeline').options.find((option) => option.long === '--engine')?.description;
    assert.match(engineHelp ?? '', /buildah, docker, podman/);
  });

  it('parses the run options into the RunFlags names, typed', () => {
    let seen: Record<string, unknown> | undefined;
    const probe = withRunOptions(new Command('probe'), { help: 'push', threadsHelp: 'threads' }).action((options) => {
      const threads: number | undefined = options.threads;
      const builders: string[] | undefined = options.builders;
      const packageCache: boolean | undefined = options.packageCache;
      seen = { threads, builders, packageCache, engine: options.engine, pushThreads: options.pushThreads };
    });
    const args = ['--threads', '3', '--builders', 'local, tcp://h:1', '--no-package-cache', '--engine', 'podman'];
    probe.parse([...args, '--push-threads', '4'], { from: 'user' });
    assert.deepEqual(seen, {
      threads: 3,
      builders: ['local', 'tcp://h:1'],
      packageCache: false,
      engine: 'podman',
      pushThreads: 4,
    });
  });
});
