import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import {
  chooseImages,
  dependencyListing,
  imageListing,
  renderImages,
  testImages,
  type ListingFormat,
} from '../../app/images.js';
import { UsageError } from '../../util/errors.js';
import { templateOverrideOption, withImageSelection, type GlobalOptions } from '../options.js';
import { chosenSets, openWorkspace, type SelectionOptions } from '../workspace.js';

/** A subcommand that chooses images the way build does. */
function selectingCommand(name: string, description: string) {
  return withImageSelection(new Command(name).description(description));
}

function listingFormat(asked: string | undefined, json: boolean | undefined): ListingFormat {
  if (asked === undefined) return json ? 'json' : 'plain';
  if (asked === 'plain' || asked === 'json' || asked === 'kolla') return asked;
  throw new UsageError(`invalid --format ${JSON.stringify(asked)}: expected plain, json or kolla`);
}

const formatOption = [
  '--format <format>',
  "plain, json (as --json) or kolla (kolla-build's --list-images / --list-dependencies output)",
] as const;

/** The choice of images a selecting subcommand's flags make. */
function choiceOf(global: GlobalOptions, regexes: string[], options: SelectionOptions, engine?: string) {
  return {
    workspace: openWorkspace(global, options, engine),
    regexes,
    sets: chosenSets(options),
    distros: options.distro,
    skipParents: options.skipParents,
  };
}

export function imagesCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void): CommandUnknownOpts {
  return new Command('images')
    .description('Look at the image trees before building: list, dependencies, rendered Dockerfiles')
    .addCommand(listCommand(globals))
    .addCommand(depsCommand(globals))
    .addCommand(renderCommand(globals, setExitCode))
    .addCommand(testCommand(globals, setExitCode));
}

function listCommand(globals: () => GlobalOptions) {
  return selectingCommand('list', 'List the selected images, parents before children')
    .option(...formatOption)
    .action((regexes, options) => {
      const global = globals();
      const format = listingFormat(options.format, global.json);
      const choice = choiceOf(global, regexes, options);
      const selection = chooseImages(choice);
      for (const regex of selection.unmatchedRegexes)
        process.stderr.write(`warning: regex ${JSON.stringify(regex)} matches no image\n`);
      process.stdout.write(imageListing(choice.workspace.catalog, selection.selected, format));
    });
}

function depsCommand(globals: () => GlobalOptions) {
  return selectingCommand('deps', 'Show the selected images as a dependency tree')
    .option(...formatOption)
    .action((regexes, options) => {
      const global = globals();
      const format = listingFormat(options.format, global.json);
      const choice = { ...choiceOf(global, regexes, options), skipParents: false };
      const { selected } = chooseImages(choice);
      process.stdout.write(dependencyListing(choice.workspace.catalog, selected, format));
    });
}

function renderCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void) {
  return selectingCommand(
    'render',
    "Render every selected image's Dockerfile and build context into a folder, without building",
  )
    .requiredOption(
      '--out <dir>',
      'folder to write <image>/Dockerfile and context files into (per distro when several)',
    )
    .option('--tag <tag>', 'tag to render with (default: a fresh run tag)')
    .addOption(templateOverrideOption())
    .action(async (regexes, options) => {
      const rendered = await renderImages({
        ...choiceOf(globals(), regexes, options),
        out: options.out,
        tag: options.tag,
      });
      for (const { distro, outDir, written, unwritten } of rendered) {
        for (const image of unwritten) process.stderr.write(`ci-builder: error: ${image.name}: ${image.reason}\n`);
        const failed = unwritten.length > 0 ? `; ${unwritten.length} failed` : '';
        process.stderr.write(`rendered ${written} image(s) for ${distro} into ${outDir}${failed}\n`);
        if (unwritten.length > 0) setExitCode(1);
      }
    });
}

function testCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void) {
  return selectingCommand(
    'test',
    "Run each selected image's smoke checks: its service answers, and kolla_start applies a config.json",
  )
    .requiredOption('--tag <tag>', 'the run tag of the images to test')
    .option('--engine <engine>', 'buildah, docker or podman (default: from the config)')
    .addHelpText('after', '\nExit status: 0 every check passed (or was skipped), 1 a check failed, 2 bad input.')
    .action(async (regexes, options) => {
      const global = globals();
      const results = await testImages(
        { ...choiceOf(global, regexes, options, options.engine), tag: options.tag },
        (result) => {
          if (global.json) return;
          for (const check of result.checks)
            process.stdout.write(`${check.status.padEnd(7)} ${result.image} ${check.check}: ${check.detail}\n`);
        },
      );
      if (global.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      const failures = results.flatMap((result) => result.checks.filter((check) => check.status === 'fail'));
      if (!global.json) process.stderr.write(`${results.length} image(s) tested, ${failures.length} check(s) failed\n`);
      setExitCode(failures.length > 0 ? 1 : 0);
    });
}
