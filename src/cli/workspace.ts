import { resolve } from 'node:path';
import { discoverCatalog } from '../catalog/discover.js';
import { selectImages, type Selection } from '../catalog/select.js';
import { chosenRegexes } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import type { Catalog } from '../catalog/types.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Overrides } from '../config/overrides.js';
import type { GlobalOptions } from './options.js';

export interface SelectionOptions {
  distro?: string[];
  set?: string[];
  /** kolla-build's --profile: a set by another name. */
  profile?: string[];
  /** kolla-build's --template-override: files merged after build.template_overrides. */
  templateOverride?: string[];
  imagesDir?: string[];
  skipParents?: boolean;
  /** An upstream Kolla checkout and kolla-build.conf under the config (kolla.dir, kolla.config). */
  kollaDir?: string;
  kollaConfig?: string;
}

export interface Workspace {
  loaded: LoadedConfig;
  catalog: Catalog;
}

/** The configuration as the global options name it. */
export function loadConfigFor(
  globals: GlobalOptions,
  flags: Overrides = {},
  kolla: Pick<SelectionOptions, 'kollaDir' | 'kollaConfig'> = {},
): LoadedConfig {
  const loaded = loadConfig({
    configDir: globals.config,
    environment: globals.environment,
    vaultPasswordFile: globals.vaultPasswordFile,
    flags,
    kolla: { dir: kolla.kollaDir, config: kolla.kollaConfig },
  });
  for (const warning of loaded.warnings) process.stderr.write(`ci-builder: warning: ${warning}\n`);
  return loaded;
}

/** Config and image trees as every command that chooses images sees them. */
export function openWorkspace(globals: GlobalOptions, selection: SelectionOptions, flags: Overrides = {}): Workspace {
  const configured = loadConfigFor(globals, flags, selection);
  const { renderInputs } = configured;
  const templateOverrideFiles = [
    ...renderInputs.templateOverrideFiles,
    ...(selection.templateOverride ?? []).map((file) => resolve(file)),
  ];
  const loaded = { ...configured, renderInputs: { ...renderInputs, templateOverrideFiles } };
  const extraTrees = (selection.imagesDir ?? []).map((dir) => resolve(dir));
  const catalog = discoverCatalog([...loaded.imagesDirs, ...extraTrees]);
  return { loaded, catalog };
}

/** The images that positional regexes and sets choose, for the first distro asked for (its unbuildable list applies). */
export function chosenSelection(
  workspace: Workspace,
  positional: readonly string[],
  options: SelectionOptions,
  skipParents = options.skipParents ?? false,
): Selection {
  const [distro] = chosenDistros(workspace.loaded.config, options.distro);
  return selectImages(workspace.catalog, {
    regexes: chosenRegexes(workspace.loaded.config.sets, positional, chosenSets(options)),
    unbuildable: workspace.loaded.config.distros[distro ?? '']?.unbuildable ?? [],
    skipParents,
  });
}

/** The sets named by --set and --profile (kolla-build's word for them). */
export function chosenSets(options: Pick<SelectionOptions, 'set' | 'profile'>): string[] {
  return [...(options.set ?? []), ...(options.profile ?? [])];
}
