import type { Config } from '../config/schema.js';
import { createBuilder, parseBuilderList, checkBuilders, type Builder, type BuilderSpec } from '../engine/builders.js';
import { UsageError } from '../util/errors.js';

export const BUILDERS_HELP =
  'spread the run over these engines, comma-separated: [docker+|podman+]URL[#SLOTS], URL being local, ' +
  'unix:///path, tcp://host:port or ssh://user@host (engine: --engine; slots: --threads); more than one ' +
  'pushes every image as it is built (needs a registry)';

/**
 * The builders a run is spread over, from --builders or the config's `builders:`; undefined when there
 * are none (the run uses its one engine, as always). Bad entries are a usage error.
 */
export function chosenBuilders(
  config: Config,
  flag: readonly string[] | undefined,
  options: { skipParents?: boolean; skipExisting?: boolean } = {},
): Builder[] | undefined {
  const defaults = { engine: config.engine, slots: config.threads };
  let specs: BuilderSpec[];
  if (flag !== undefined) {
    const parsed = parseBuilderList(flag, defaults);
    if (!parsed.ok) throw new UsageError(`--builders: ${parsed.failure}`);
    specs = parsed.value;
  } else {
    specs = config.builders.map((entry) => ({
      url: entry.url,
      engine: entry.engine ?? defaults.engine,
      slots: entry.slots ?? defaults.slots,
    }));
    const checked = checkBuilders(specs);
    if (!checked.ok) throw new UsageError(`config builders: ${checked.failure}`);
  }
  if (specs.length === 0) return undefined;
  if (specs.length > 1) {
    if (config.registry === '')
      throw new UsageError('several builders hand images over through a registry: set registry in the config');
    if (options.skipParents || options.skipExisting)
      throw new UsageError('--skip-parents and --skip-existing leave images unpushed: use them with one builder');
  }
  return specs.map((spec) => createBuilder(spec, config.engine_url ? { engineUrl: config.engine_url } : {}));
}
