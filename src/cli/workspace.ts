import {
  openConfig,
  openRunWorkspace,
  openWorkspace as openTrees,
  type TreeChoice,
  type Workspace,
} from '../app/workspace.js';
import type { RunFlags } from '../app/build.js';
import type { GlobalOptions } from './options.js';

export { chosenSets } from '../app/workspace.js';

export interface SelectionOptions extends TreeChoice {
  distro?: string[];
  set?: string[];
  /** kolla-build's --profile: a set by another name. */
  profile?: string[];
  skipParents?: boolean;
}

const warn = (line: string) => process.stderr.write(`ci-builder: warning: ${line}\n`);

/** The configuration as the global options name it; its warnings on stderr. */
export function loadConfigFor(globals: GlobalOptions, engine?: string) {
  return openConfig(globals, warn, engine === undefined ? {} : { engine });
}

/** Config and image trees as every command that chooses images sees them. */
export function openWorkspace(globals: GlobalOptions, selection: SelectionOptions, engine?: string): Workspace {
  return openTrees(globals, selection, warn, engine === undefined ? {} : { engine });
}

/** The workspace of build and pipeline: run flags that are configuration keys override them. */
export function openWorkspaceForRun(globals: GlobalOptions, selection: SelectionOptions, flags: RunFlags): Workspace {
  return openRunWorkspace(globals, selection, flags, warn);
}
