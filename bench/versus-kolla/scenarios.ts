/** The scenarios of the versus-kolla bench: what each changes in every tool's tree before the tools run. */
import { changeLeaf, setBenchMarker, type Workspace } from './workspace.js';

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

export function scenarioPlan(scenario: Scenario): ScenarioPlan {
  switch (scenario) {
    case 'cold':
      return {
        title: 'cold (nothing built before)',
        push: false,
        change: (workspace, stamp) => setBenchMarker(workspace.tree, `${stamp}-cold-${workspace.tool}`),
        kollaBuildCaveat: null,
      };
    case 'nochange':
      return {
        title: 'nothing changed (second run)',
        push: false,
        change: () => undefined,
        kollaBuildCaveat:
          'kolla-build has no reuse of its own: it builds every image again and the docker layer cache answers ' +
          'each step (--skip-existing would skip by tag alone, wrong after a change, so it is not used)',
      };
    case 'leaf':
      return {
        title: `one leaf changed (${LEAF_IMAGE})`,
        push: false,
        change: (workspace, stamp) => changeLeaf(workspace.tree, LEAF_IMAGE, stamp),
        kollaBuildCaveat: 'kolla-build rebuilds every selected image; the layer cache answers the unchanged ones',
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
        change: (workspace, stamp) => setBenchMarker(workspace.tree, `${stamp}-push-${workspace.tool}`),
        kollaBuildCaveat: null,
      };
    default: {
      const never: never = scenario;
      return never;
    }
  }
}
