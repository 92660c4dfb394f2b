import type { RunSummary } from '../../src/report/summary.js';
import type { PackageDifference } from './package-sets.js';

export type SnapshotName = 'A' | 'B' | 'C';
export type ScenarioMode = 'cold' | 'full' | 'patch';

export interface Scenario {
  id: string;
  title: string;
  snapshot: SnapshotName;
  mode: ScenarioMode;
}

export const SCENARIO_IDS = ['cold', 'b-full', 'c-full', 'b-patch', 'c-patch'] as const;

/** In this order: every respin starts from the cold build's images at A, the images of the respins before it removed. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 'cold', title: 'cold at A', snapshot: 'A', mode: 'cold' },
  { id: 'b-full', title: 'A→B full', snapshot: 'B', mode: 'full' },
  { id: 'c-full', title: 'A→C full', snapshot: 'C', mode: 'full' },
  { id: 'b-patch', title: 'A→B patch', snapshot: 'B', mode: 'patch' },
  { id: 'c-patch', title: 'A→C patch', snapshot: 'C', mode: 'patch' },
];

export interface ScenarioResult {
  id: string;
  title: string;
  snapshot: SnapshotName;
  mode: ScenarioMode;
  tag: string;
  flags: string[];
  exitCode: number | null;
  wallSeconds: number;
  /**
   * From the command's start to its run's start (summary.json's started_at): the plan, and each image's work
   * decided (earlier images looked up, their packages read, the new snapshots' indexes read).
   */
  beforeRunSeconds: number | null;
  images: number;
  built: number;
  reused: number;
  patched: number;
  /** Of the patched, those whose own layers were stacked onto their patched parent. */
  stacked: number;
  /** Of the stacked, those composed at the registry (--compose), and the seconds their pull for the checks took. */
  composed: { images: number; pullSeconds: number };
  /** The stacked images' seconds by step (summary.json's stack_steps), summed over the run: image-seconds. */
  stackSteps: Record<string, number>;
  failed: string[];
  /** Growth of the registry's storage during the run: the new blobs and manifests the push sent. */
  pushedMB: number;
  /** `ci-builder images test` of the run's images; each failed check as `image check: detail`. */
  imagesTest: { exitCode: number | null; tested: number; failedChecks: number; failed: string[] };
  /** Installed packages at another version than the scenario's snapshot holds (none when the build used it). */
  notFromSnapshot: PackageDifference[];
  /** Per image, the summary's `respin` record where there is one. */
  respin: Record<string, unknown>;
}

export function countsOf(
  summary: RunSummary,
): Pick<ScenarioResult, 'images' | 'built' | 'reused' | 'patched' | 'stacked' | 'composed' | 'stackSteps' | 'failed'> {
  const stackSteps: Record<string, number> = {};
  for (const image of Object.values(summary.images))
    for (const [step, seconds] of Object.entries(image.stack_steps ?? {}))
      stackSteps[step] = (stackSteps[step] ?? 0) + seconds;
  return {
    images: Object.keys(summary.images).length,
    built: summary.built.length,
    reused: summary.reused.length,
    patched: summary.patched.length,
    stacked: Object.values(summary.images).filter((image) => image.stacked_on_patched_parent).length,
    composed: {
      images: Object.values(summary.images).filter((image) => image.composed_at_registry).length,
      pullSeconds: 0,
    },
    stackSteps,
    failed: summary.failed.map((entry) => entry.name),
  };
}

/**
 * What a patch run did, next to the full rebuild of the same move, said plainly: a ci-builder without the
 * respin rebuilds in its "patch" run too, and then no speed-up is claimed.
 */
export function patchVerdict(full: ScenarioResult, patch: ScenarioResult): string {
  if (patch.patched === 0)
    return `${patch.title}: no image patched (${patch.built} built, ${patch.reused} reused): no speed-up to report`;
  const ratio = patch.wallSeconds / full.wallSeconds;
  const bytes =
    full.pushedMB > 0 ? ` and ${((patch.pushedMB / full.pushedMB) * 100).toFixed(1)}% of its MB pushed` : '';
  return `${patch.title}: ${patch.patched} patched, ${patch.reused} reused, ${patch.built} built in ${patch.wallSeconds.toFixed(0)} s: ${ratio.toFixed(2)} × the wall time of ${full.title}${bytes}`;
}
