/** The scenarios of the versus-kolla bench: what each changes in every tool's tree before the tools run. */
import { changeLeaf, emptyPackageCache, setBenchMarker, type Workspace } from './workspace.js';

export type Scenario = 'cold' | 'nochange' | 'leaf' | 'base' | 'push';
export const SCENARIOS: readonly Scenario[] = ['cold', 'nochange', 'leaf', 'base', 'push'];

/** The leaf image the `leaf` scenario changes (in both bundled selections). */
export const LEAF_IMAGE = 'memcached';

export interface ScenarioPlan {
  title: string;
  push: boolean;
  /** Applied to each tool's own tree; `stamp` makes the change new to every engine. */
  change(workspace: Workspace, stamp: string): void;
  /** What kolla-build does here that is not what the scenario asks of a builder; null when nothing. */
  kollaBuildCaveat: string | null;
}

/** Nothing built before, by any engine or layer cache, and an empty package cache: what cold means here. */
function startCold(scenario: Scenario): ScenarioPlan['change'] {
  return (workspace, stamp) => {
    emptyPackageCache(workspace);
    setBenchMarker(workspace.tree, `${stamp}-${scenario}-${workspace.tool}`);
  };
}

export function scenarioPlan(scenario: Scenario): ScenarioPlan {
  switch (scenario) {
    case 'cold':
      return {
        title: 'cold (nothing built before)',
        push: false,
        change: startCold('cold'),
        kollaBuildCaveat: null,
      };
    case 'nochange':
      return {
        title: 'nothing changed (second run)',
        push: false,
        change: () => undefined,
        kollaBuildCaveat:
          'kolla-build has no reuse of its own: it builds every image again. The layer cache answers base, but ' +
          'kolla-build labels each image with its build time and tag, so every child has a new parent and is ' +
          'built from scratch (--skip-existing would skip by tag alone, wrong after a change: not used)',
      };
    case 'leaf':
      return {
        title: `one leaf changed (${LEAF_IMAGE})`,
        push: false,
        change: (workspace, stamp) => changeLeaf(workspace.tree, LEAF_IMAGE, stamp),
        kollaBuildCaveat:
          'kolla-build cannot rebuild just the changed image: it builds every selected image again, and ' +
          'its per-run labels give every child a new parent (as with nothing changed)',
      };
    case 'base':
      return {
        title: 'base changed (every image rebuilds)',
        push: false,
        change: (workspace, stamp) => setBenchMarker(workspace.tree, `${stamp}-base-${workspace.tool}`),
        kollaBuildCaveat: null,
      };
    case 'push':
      return {
        title: 'cold + push to a local registry',
        push: true,
        change: startCold('push'),
        kollaBuildCaveat: null,
      };
    default: {
      const never: never = scenario;
      return never;
    }
  }
}
