import { Pace } from '../util/pace.js';
import { combineRuns } from './combine.js';
import type { TagChange } from './edit.js';
import { DEFAULT_KEY, tagKeysOfImage } from './naming.js';
import type { RunRollout } from './runs.js';
import type { KollaImageTags } from './tags-file.js';

export interface UpdatePlan {
  changes: TagChange[];
  /** Keys that keep overriding a distro whose default a full run just replaced. */
  stillOverriding: Array<{ key: string; distro: string; tag: string }>;
}

/**
 * What the runs change, once the runs of each distro are combined: a full rollout sets
 * `openstack` for its distro; a partial one sets the tag keys of the images built (dnsmasq →
 * ironic_dnsmasq…). A run of many images is a long loop: it keeps to the pace (and its signal).
 */
export async function planUpdate(
  tags: KollaImageTags,
  runs: readonly RunRollout[],
  pace = new Pace(),
): Promise<UpdatePlan> {
  const rollouts = combineRuns(runs);
  const wanted = new Map<string, TagChange>();
  const want = (key: string, distro: string, to: string) => {
    const from = tags[key]?.[distro];
    if (from !== to) wanted.set(`${key}\0${distro}`, { key, distro, from, to });
  };
  const stillOverriding: UpdatePlan['stillOverriding'] = [];
  for (const rollout of rollouts) {
    if (rollout.full) {
      want(DEFAULT_KEY, rollout.distroKey, rollout.tag);
      for (const [key, byKeyDistro] of Object.entries(tags)) {
        await pace.step();
        const tag = byKeyDistro[rollout.distroKey];
        if (key === DEFAULT_KEY || tag === undefined || tag === rollout.tag) continue;
        stillOverriding.push({ key, distro: rollout.distroKey, tag });
      }
    } else {
      for (const image of rollout.images) {
        await pace.step();
        for (const key of tagKeysOfImage(image)) want(key, rollout.distroKey, rollout.tag);
      }
    }
  }
  return { changes: [...wanted.values()], stillOverriding };
}

export function applyToTags(tags: KollaImageTags, changes: readonly TagChange[]): KollaImageTags {
  const result: KollaImageTags = Object.fromEntries(Object.entries(tags).map(([key, values]) => [key, { ...values }]));
  for (const change of changes) result[change.key] = { ...(result[change.key] ?? {}), [change.distro]: change.to };
  return result;
}
