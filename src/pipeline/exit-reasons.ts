import type { RunSummary } from '../report/summary.js';

/** Why a set's run never got as far as a summary. */
export type SetNotRun =
  { kind: 'services-unavailable'; message: string } | { kind: 'could-not-start'; message: string };

/** How one run of the pipeline (one distro, one set) ended. */
export interface SetOutcome {
  distro: string;
  set: string;
  tag: string;
  runDir: string;
  /** Absent when the run could not start (its plan failed): `notRun` says why. */
  summary?: RunSummary;
  exitCode: 0 | 1 | 130;
  notRun?: SetNotRun;
}

/** One reason the pipeline failed, as data: reporters word it (describeReason), none parses words. */
export type PipelineReason =
  | { kind: 'interrupted' }
  | { kind: 'nothing-built'; distro: string }
  | { kind: 'not-run'; distro: string; set: string; notRun: SetNotRun }
  | {
      kind: 'builds-failed' | 'scans-failed' | 'pushes-failed' | 'critical-held';
      distro: string;
      set: string;
      images: string[];
    };

export interface PipelineVerdict {
  exitCode: 0 | 1 | 130;
  /** Every reason the pipeline failed, in the order an operator would look at them. */
  reasons: PipelineReason[];
}

export function describeNotRun(notRun: SetNotRun): string {
  switch (notRun.kind) {
    case 'services-unavailable':
    case 'could-not-start':
      return notRun.message;
    default: {
      const never: never = notRun;
      return never;
    }
  }
}

/** One line for a reason, as the pipeline prints it after `pipeline failed:`. */
export function describeReason(reason: PipelineReason): string {
  switch (reason.kind) {
    case 'interrupted':
      return 'interrupted';
    case 'nothing-built':
      return `${reason.distro}: no image was built`;
    case 'not-run':
      return `${reason.distro} ${reason.set}: ${describeNotRun(reason.notRun)}`;
    case 'builds-failed':
      return `${reason.distro} ${reason.set}: ${reason.images.length} build(s) failed: ${reason.images.join(', ')}`;
    case 'scans-failed':
      return `${reason.distro} ${reason.set}: ${reason.images.length} image(s) could not be scanned: ${reason.images.join(', ')}`;
    case 'pushes-failed':
      return `${reason.distro} ${reason.set}: ${reason.images.length} push(es) failed: ${reason.images.join(', ')}`;
    case 'critical-held':
      return `${reason.distro} ${reason.set}: critical vulnerabilities, not pushed (--push-dirty pushes them): ${reason.images.join(', ')}`;
    default: {
      const never: never = reason;
      return never;
    }
  }
}

const names = (entries: ReadonlyArray<{ name: string }>) => entries.map((entry) => entry.name);

/** The images a run left at its tag, whichever way it made them. */
const made = (summary: RunSummary) => summary.built.length + summary.reused.length + summary.patched.length;

/**
 * The pipeline's exit, from the runs' summaries alone: 1 when a distro built nothing, a build, a
 * scan or a push failed, or a critical image was held (found without --push-dirty); 130 when
 * interrupted.
 */
export function pipelineVerdict(outcomes: readonly SetOutcome[], interrupted: boolean): PipelineVerdict {
  if (interrupted || outcomes.some((outcome) => outcome.exitCode === 130 || outcome.summary?.interrupted))
    return { exitCode: 130, reasons: [{ kind: 'interrupted' }] };
  const reasons: PipelineReason[] = [];
  for (const distro of new Set(outcomes.map((outcome) => outcome.distro))) {
    const images = outcomes
      .filter((outcome) => outcome.distro === distro)
      .reduce((sum, { summary }) => sum + (summary ? made(summary) : 0), 0);
    if (images === 0) reasons.push({ kind: 'nothing-built', distro });
  }
  for (const outcome of outcomes) reasons.push(...setReasons(outcome));
  return { exitCode: reasons.length > 0 ? 1 : 0, reasons };
}

function setReasons(outcome: SetOutcome): PipelineReason[] {
  const { distro, set, summary } = outcome;
  const reasons: PipelineReason[] = [];
  if (outcome.notRun !== undefined) reasons.push({ kind: 'not-run', distro, set, notRun: outcome.notRun });
  if (summary === undefined) return reasons;
  const pushFailed = new Set(summary.push_failed.map((entry) => entry.name));
  const failing = {
    'builds-failed': names(summary.failed.filter((entry) => !pushFailed.has(entry.name))),
    'scans-failed': names(summary.scan_failed),
    'pushes-failed': names(summary.push_failed),
    'critical-held': names(summary.held.filter((entry) => entry.verdict === 'critical')),
  } as const;
  for (const [kind, images] of Object.entries(failing) as Array<[keyof typeof failing, string[]]>) {
    if (images.length > 0) reasons.push({ kind, distro, set, images });
  }
  return reasons;
}
