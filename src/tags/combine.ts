import { ConfigError, UsageError } from '../util/errors.js';
import { isDeployableImage } from './naming.js';
import type { RunRollout } from './runs.js';

/** What the runs of one distro roll out together, at their one tag. */
export interface DistroRollout {
  distroKey: string;
  tag: string;
  /**
   * Together the runs selected every image of the image trees (no image is in every run's
   * `not_matched`) and none is missing: the tag replaces the default (`openstack`) for the distro.
   */
  full: boolean;
  /** Deployable images some run left at the tag (built or reused, and not failed to push). */
  images: string[];
}

const listed = (items: readonly string[]) => `${items.slice(0, 3).join(', ')}${items.length > 3 ? ', …' : ''}`;

/**
 * Joins the runs of each distro: the sets of a pipeline build one tag in parts, and what one set
 * failed another may have built. Runs of one distro at different tags are refused: which should
 * win is not for this command to guess.
 */
export function combineRuns(runs: readonly RunRollout[]): DistroRollout[] {
  const byDistro = new Map<string, RunRollout[]>();
  for (const run of runs) {
    const group = byDistro.get(run.distroKey) ?? [];
    const other = group.find((candidate) => candidate.tag !== run.tag);
    if (other) {
      const both = `${other.tag} (${other.label}) and ${run.tag} (${run.label})`;
      throw new UsageError(`two runs for ${run.distroKey} at different tags: ${both}; give the runs of one tag`);
    }
    group.push(run);
    byDistro.set(run.distroKey, group);
  }
  return [...byDistro.values()].map(combineDistro);
}

function combineDistro(group: readonly RunRollout[]): DistroRollout {
  const [first, ...others] = group;
  if (first === undefined) throw new Error('a distro without runs');
  const present = new Set(group.flatMap((run) => run.present));
  const missing = [...new Set(group.flatMap((run) => run.failed))].filter((name) => !present.has(name)).sort();
  const notMatchedBy = others.map((run) => new Set(run.notMatched));
  const unselected = first.notMatched.filter((name) => notMatchedBy.every((names) => names.has(name)));
  const full = unselected.length === 0;
  if (full && missing.length > 0) {
    const problem = `a build of every image with ${missing.length} failed (${listed(missing)})`;
    const why = 'the default tag would name missing images; rebuild them first';
    if (others.length === 0) {
      const key = [first.keyPath, 'failed'].filter((part) => part !== '').join('.');
      throw new ConfigError(first.summaryFile, key, `${problem}: ${why}`);
    }
    const where = group.map((run) => run.label).join(', ');
    throw new UsageError(`${first.distroKey} at ${first.tag} (${where}): ${problem}: ${why}`);
  }
  const images = [...present].filter(isDeployableImage).sort();
  return { distroKey: first.distroKey, tag: first.tag, full, images };
}
