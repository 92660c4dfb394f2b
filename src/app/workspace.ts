import { resolve } from 'node:path';
import { discoverCatalog } from '../catalog/discover.js';
import type { Catalog } from '../catalog/types.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Overrides } from '../config/overrides.js';
import { makePlan } from '../plan/make-plan.js';
import type { Plan, PlanRequest } from '../plan/plan.js';
import { runConfigOverrides, type RunFlags } from '../run/settings.js';
import { cacheDir } from '../util/cache-dir.js';

/** The configuration and the image trees, as every command that chooses images sees them. */
export interface Workspace {
  loaded: LoadedConfig;
  catalog: Catalog;
}

/** Where the configuration comes from, as the global options name it. */
export interface ConfigChoice {
  config?: string;
  environment?: string;
  vaultPasswordFile?: string;
}

/** The flags that add image trees, template overrides and a Kolla checkout to the configured ones. */
export interface TreeChoice {
  /** kolla-build's --template-override: files merged after build.template_overrides. */
  templateOverride?: string[];
  imagesDir?: string[];
  /** An upstream Kolla checkout and kolla-build.conf under the config (kolla.dir, kolla.config). */
  kollaDir?: string;
  kollaConfig?: string;
}

/** The configuration, its warnings told once to `onWarning`. */
export function openConfig(
  choice: ConfigChoice,
  onWarning: (line: string) => void,
  flags: Overrides = {},
  kolla: Pick<TreeChoice, 'kollaDir' | 'kollaConfig'> = {},
): LoadedConfig {
  const loaded = loadConfig({
    configDir: choice.config,
    environment: choice.environment,
    vaultPasswordFile: choice.vaultPasswordFile,
    flags,
    kolla: { dir: kolla.kollaDir, config: kolla.kollaConfig },
  });
  for (const warning of loaded.warnings) onWarning(warning);
  return loaded;
}

/** Config and image trees: the configured trees, then the extra ones (later trees add or replace images). */
export function openWorkspace(
  choice: ConfigChoice,
  trees: TreeChoice,
  onWarning: (line: string) => void,
  flags: Overrides = {},
): Workspace {
  const configured = openConfig(choice, onWarning, flags, trees);
  const { renderInputs } = configured;
  const templateOverrideFiles = [
    ...renderInputs.templateOverrideFiles,
    ...(trees.templateOverride ?? []).map((file) => resolve(file)),
  ];
  const loaded = { ...configured, renderInputs: { ...renderInputs, templateOverrideFiles } };
  const extraTrees = (trees.imagesDir ?? []).map((dir) => resolve(dir));
  return { loaded, catalog: discoverCatalog([...loaded.imagesDirs, ...extraTrees]) };
}

/** The workspace of a run: the run flags that are configuration keys (--engine, --threads…) override them. */
export function openRunWorkspace(
  choice: ConfigChoice,
  trees: TreeChoice,
  flags: RunFlags,
  onWarning: (line: string) => void,
): Workspace {
  return openWorkspace(choice, trees, onWarning, runConfigOverrides(flags));
}

/** The sets named by --set and --profile (kolla-build's word for them). */
export function chosenSets(options: { set?: string[]; profile?: string[] }): string[] {
  return [...(options.set ?? []), ...(options.profile ?? [])];
}

/** A plan to render, not to build: as kolla-build's --template-only, it fetches no source. */
export function renderOnlyPlan(
  loaded: LoadedConfig,
  catalog: Catalog,
  distro: string,
  tag: string,
  selection: PlanRequest['selection'],
): Promise<Plan> {
  const { config, renderInputs } = loaded;
  const request = { config, catalog, distro, tag, engine: config.engine, selection, renderInputs };
  return makePlan({ ...request, cacheDir: cacheDir(), fetchSources: false });
}
