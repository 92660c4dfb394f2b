import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import { ENGINE_NAMES } from '../config/schema.js';
import { collectList, parseCount, parsePositiveInteger } from './options.js';

const BUILDERS_HELP =
  'spread the run over these engines, comma-separated: [docker+|podman+]URL[#SLOTS], URL being local, ' +
  'unix:///path, tcp://host:port or ssh://user@host (engine: --engine; slots: --threads); more than one ' +
  'pushes every image as it is built (needs a registry)';

/**
 * Every option that changes how a run builds and pushes, declared once for build and pipeline (kolla-build
 * maps its own flags onto the same RunFlags). Each name matches its RunFlags key, so the parsed options are
 * RunFlags as they are; a new run option is added here, in RunFlags/runSettings, and where it is used.
 */
export function withRunOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
  push: { help: string; threadsHelp: string },
) {
  return command
    .addOption(new Option('--engine <engine>', `the engine that builds: ${ENGINE_NAMES.join(', ')} (config: engine)`))
    .addOption(new Option('--builders <urls>', BUILDERS_HELP).argParser(collectList))
    .addOption(new Option('--threads <n>', push.threadsHelp).argParser(parsePositiveInteger))
    .addOption(new Option('--retries <n>', 'extra build attempts for a failed image').argParser(parseCount))
    .addOption(new Option('--push', push.help))
    .addOption(new Option('--push-threads <n>', 'pushes at once').argParser(parsePositiveInteger))
    .addOption(
      new Option(
        '--auth-proxy',
        'start the authenticating proxy on a free loopback port for the run and install from Pulp through it',
      ),
    )
    .addOption(
      new Option(
        '--package-cache',
        "reach every repository through the run's caching proxy (default: proxy.package_cache; on, but off for --kolla-dir)",
      ),
    )
    .addOption(
      new Option('--no-package-cache', 'reach plain mirrors directly, each image downloading its packages itself'),
    )
    .addOption(
      new Option('--full', 'rebuild images whose snapshots moved instead of patching them (config respin.mode: full)'),
    )
    .addOption(
      new Option(
        '--refresh',
        "check every reused image against the repositories' current indexes and patch the packages that have updates (for plain mirrors, whose URLs never move)",
      ),
    );
}
