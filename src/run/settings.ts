import type { LoadedConfig } from '../config/load.js';
import type { Overrides } from '../config/overrides.js';
import type { Config } from '../config/schema.js';
import { checkBuilders, createBuilder, parseBuilderList, type Builder, type BuilderSpec } from '../engine/builders.js';
import { createEngine } from '../engine/index.js';
import type { Engine } from '../engine/types.js';
import { UsageError } from '../util/errors.js';

/**
 * The run options as a command line gives them (build and pipeline declare them through one option
 * group; kolla-build maps its own flags onto them). Absent means "as the configuration says".
 */
export interface RunFlags {
  engine?: string;
  builders?: string[];
  threads?: number;
  retries?: number;
  push?: boolean;
  pushThreads?: number;
  authProxy?: boolean;
  packageCache?: boolean;
  /** kolla-build's --skip-existing: an image already in the engine at the run's tag is left as it is. */
  skipExisting?: boolean;
  /** Rebuild every image from its first step: no reuse by input digest, none of the engine's layer cache. */
  noCache?: boolean;
  /** Selected images that have children are not built (their existing image is tagged for them). */
  skipParents?: boolean;
  /** Rebuild an image whose snapshots moved instead of patching it (respin.mode full). */
  full?: boolean;
  /** Ask the repositories' current indexes about every image that would be reused, and patch what moved. */
  refresh?: boolean;
}

/** What happens to an image whose recipe is unchanged when its snapshot set moved. */
export interface RespinSettings {
  mode: 'patch' | 'full';
  maxPatchLayers: number;
  /** Where a stacked image is put together: the engine's store, or the registry (respin.compose; auto: where it can). */
  compose: 'auto' | 'store' | 'registry';
  /**
   * An image reused by its input digest is checked too: with plain mirrors nothing in the configuration moves
   * when the mirror does, so only its indexes say whether the image is still current.
   */
  refresh: boolean;
}

/** Everything a run does differently by option, resolved once from the configuration and the flags. */
export interface RunSettings {
  engine: Engine;
  /** More than one: the run is spread over them, every image pushed as it is built (the hand-off). */
  builders?: readonly Builder[];
  threads: number;
  retries: number;
  /** Images go to the registry: asked for with --push, or implied by a run spread over builders. */
  push: boolean;
  pushThreads: number;
  pushAttempts: number;
  /** Install from Pulp through the authenticating proxy on a loopback port. */
  authProxy: boolean;
  /** Every repository through the run's caching proxy. */
  packageCache: boolean;
  skipExisting: boolean;
  noCache: boolean;
  skipParents: boolean;
  respin: RespinSettings;
}

/**
 * The flags that are also configuration keys, as a configuration layer: they win over the environment
 * and the files, and a bad value is reported naming the flag (config/layers.ts records the origin).
 */
export function runConfigOverrides(flags: RunFlags): Overrides {
  return { engine: flags.engine, threads: flags.threads, retries: flags.retries, push_threads: flags.pushThreads };
}

/** The run's settings from a configuration loaded with runConfigOverrides(flags), and the same flags. */
export function runSettings(loaded: LoadedConfig, flags: RunFlags): RunSettings {
  const { config } = loaded;
  const skipParents = flags.skipParents ?? false;
  const skipExisting = flags.skipExisting ?? false;
  const builders = chosenBuilders(config, flags.builders, { skipParents, skipExisting });
  const spread = (builders?.length ?? 0) > 1;
  const push = (flags.push ?? false) || spread;
  if (push && config.registry === '')
    throw new UsageError('--push needs a registry: set registry in the config or CI_BUILDER_REGISTRY');
  return {
    engine: builders?.[0]?.engine ?? createEngine(config.engine, { url: config.engine_url }),
    ...(builders ? { builders } : {}),
    threads: config.threads,
    retries: config.retries,
    push,
    pushThreads: config.push_threads,
    pushAttempts: config.push_attempts,
    authProxy: flags.authProxy ?? false,
    packageCache: flags.packageCache ?? packageCacheByDefault(loaded),
    skipExisting,
    noCache: flags.noCache ?? false,
    skipParents,
    respin: {
      mode: flags.full ? 'full' : config.respin.mode,
      maxPatchLayers: config.respin.max_patch_layers,
      compose: config.respin.compose,
      refresh: flags.refresh ?? false,
    },
  };
}

/**
 * The package cache points each image's package sources at the configured repositories while it builds, and
 * restores the image's own at its end: a Kolla checkout's templates add repositories themselves (repos.yaml,
 * handle_repos) that children rely on, so with a Kolla tree it is on only when asked for.
 */
export function packageCacheByDefault(loaded: LoadedConfig): boolean {
  return loaded.config.proxy.package_cache ?? loaded.kolla === undefined;
}

/**
 * The builders a run is spread over, from --builders or the config's `builders:`; undefined when there
 * are none (the run uses its one engine, as always). Bad entries are a usage error.
 */
function chosenBuilders(
  config: Config,
  flag: readonly string[] | undefined,
  options: { skipParents: boolean; skipExisting: boolean },
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
