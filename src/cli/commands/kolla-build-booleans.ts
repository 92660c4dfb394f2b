import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';

/** One of kolla-build's boolean options: `--name` sets it, `--noname` clears it (oslo.config's pair). */
interface KollaBoolean {
  /** The flag without dashes, as kolla-build spells it. */
  flag: string;
  short?: string;
  help: string;
  /** kolla-build's default. */
  default: boolean;
}

export const KOLLA_BOOLEANS = [
  { flag: 'push', help: 'push images after building them', default: false },
  { flag: 'skip-parents', help: 'do not build images that have children', default: false },
  { flag: 'skip-existing', help: 'do not build images already in the engine at the tag', default: false },
  {
    flag: 'template-only',
    help: "render the Dockerfiles into the work dir's docker/ folder; build nothing",
    default: false,
  },
  { flag: 'list-images', help: 'print the selected images and exit', default: false },
  {
    flag: 'list-dependencies',
    short: 'l',
    help: 'print the selected images as a tree (JSON) and exit',
    default: false,
  },
  { flag: 'debug', short: 'd', help: 'print build output as it comes', default: false },
  { flag: 'quiet', short: 'q', help: 'print less', default: false },
  { flag: 'summary', help: 'print (or write) the build summary at the end', default: true },
  {
    flag: 'cache',
    help: 'reuse earlier images and layers; --nocache builds every image again from its first step',
    default: true,
  },
  { flag: 'pull', help: 'accepted: ci-builder never pulls a base image, it bootstraps it', default: true },
  { flag: 'keep', help: 'refused: failed build containers are always removed', default: false },
  { flag: 'squash', help: 'refused: images keep their layers', default: false },
  { flag: 'use-dumb-init', help: 'templates install dumb-init as the entry point', default: true },
  { flag: 'docker-healthchecks', help: 'templates add health checks', default: true },
  { flag: 'enable-unbuildable', help: 'build images the release marks unbuildable for the distro', default: false },
] as const satisfies readonly KollaBoolean[];

export type KollaBooleanFlag = (typeof KOLLA_BOOLEANS)[number]['flag'];
export type KollaBooleans = Record<KollaBooleanFlag, boolean>;

/**
 * Declares every pair (the `--no` forms hidden from --help) and returns the values after parsing: the last
 * of `--x` and `--nox` given wins, as with oslo.config; an option not given keeps kolla-build's default.
 */
export function addKollaBooleans(command: CommandUnknownOpts): () => KollaBooleans {
  const values = Object.fromEntries(KOLLA_BOOLEANS.map((entry) => [entry.flag, entry.default])) as KollaBooleans;
  for (const entry of KOLLA_BOOLEANS) {
    const short: string | undefined = 'short' in entry ? entry.short : undefined;
    command.addOption(new Option(`${short === undefined ? '' : `-${short}, `}--${entry.flag}`, entry.help));
    command.addOption(new Option(`--no${entry.flag}`).hideHelp());
    command.on(`option:${entry.flag}`, () => (values[entry.flag] = true));
    command.on(`option:no${entry.flag}`, () => (values[entry.flag] = false));
  }
  return () => values;
}
