import { InvalidArgumentError, Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { LANGUAGE_PACKAGES } from '../config/schema.js';
import { UsageError } from '../util/errors.js';

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** `--distro a,b --distro c` → [a, b, c] */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}

export function collectRepeated(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface GlobalOptions {
  config?: string;
  environment?: string;
  vaultPasswordFile?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/**
 * One positional regex. No image name starts with `-`, so a regex that does is an option in the
 * wrong place: given after `--` (as scripts pass user input), `--push-dirty` would otherwise
 * select nothing, silently. Refused, so the input that carried it is seen.
 */
export function collectRegex(value: string, previous: string[] = []): string[] {
  if (value.startsWith('-')) {
    const fix = 'no image name starts with "-"; options go before --';
    throw new UsageError(`image regex ${JSON.stringify(value)} looks like an option: ${fix}`);
  }
  return [...previous, value];
}

/** The flags that choose images, one declaration for build and every images subcommand. */
export function selectionOptions() {
  const help = {
    distro: 'distro(s), comma-separated (default: the configured default)',
    set: 'named image set(s) from the config, e.g. overcloud,seed',
    profile: "same as --set (kolla-build's name for it)",
    imagesDir: 'extra image tree; repeatable, later trees add or replace images',
    skipParents: 'leave out selected images that have children (build reuses their existing image)',
    kollaDir: "an upstream Kolla checkout: its image tree and data under the config's keys (config kolla.dir)",
    kollaConfig: 'a kolla-build.conf mapped onto the config, as Kayobe writes it (config kolla.config)',
  };
  return {
    distro: new Option('--distro <names>', help.distro).argParser(collectList),
    set: new Option('--set <names>', help.set).argParser(collectList),
    profile: new Option('--profile <names>', help.profile).argParser(collectList),
    imagesDir: new Option('--images-dir <dir>', help.imagesDir).argParser(collectRepeated),
    skipParents: new Option('--skip-parents', help.skipParents),
    kollaDir: new Option('--kolla-dir <dir>', help.kollaDir),
    kollaConfig: new Option('--kolla-config <file>', help.kollaConfig),
  };
}

/** kolla-build's --template-override, for the commands that render. */
export function templateOverrideOption() {
  const help = 'template override file, merged after build.template_overrides (as kolla-build); repeatable';
  return new Option('--template-override <file>', help).argParser(collectRepeated);
}

/**
 * The regexes and flags that choose images, added to a command with their types kept (each
 * addOption of a typed Option adds its option to the command's type).
 */
export function withImageSelection<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
) {
  const { distro, set, profile, imagesDir, skipParents, kollaDir, kollaConfig } = selectionOptions();
  const help = 'select images whose name matches (unanchored, as kolla-build); their parents come along';
  return command
    .argument('[regex...]', help, collectRegex)
    .addOption(distro)
    .addOption(set)
    .addOption(profile)
    .addOption(imagesDir)
    .addOption(skipParents)
    .addOption(kollaDir)
    .addOption(kollaConfig);
}

/** `--language-packages`, as scan and pipeline both take it. */
export function languagePackagesOption() {
  return new Option(
    '--language-packages <which>',
    'Python distributions PyPI advisories apply to: unowned (those no deb or rpm installed; the OS ' +
      'advisories judge the rest) or all (config: scan.language_packages, default unowned)',
  ).choices(LANGUAGE_PACKAGES);
}
