import type { RunSummary } from '../report/summary.js';

/** How one run of the pipeline (one distro, one set) ended. */
export interface SetOutcome {
  distro: string;
  set: string;
  tag: string;
  runDir: string;
  /** Absent when the run could not start (its plan failed): `error` says why. */
  summary?: RunSummary;
  exitCode: 0 | 1 | 130;
  error?: string;
}

export interface PipelineVerdict {
  exitCode: 0 | 1 | 130;
  /** One line per reason the pipeline failed, in the order an operator would look at them. */
  reasons: string[];
}

const names = (entries: ReadonlyArray<{ name: string }>) => entries.map((entry) => entry.name).join(', ');

/**
 * The pipeline's exit, from the runs' summaries alone: 1 when a distro built nothing, a build, a
 * scan or a push failed, or a critical image was held (found without --push-dirty); 130 when
 * interrupted.
 */
export function pipelineVerdict(outcomes: readonly SetOutcome[], interrupted: boolean): PipelineVerdict {
  if (interrupted || outcomes.some((outcome) => outcome.exitCode === 130 || outcome.summary?.interrupted))
    return { exitCode: 130, reasons: ['interrupted'] };
  const reasons: string[] = [];
  const distros = [...new Set(outcomes.map((outcome) => outcome.distro))];
  for (const distro of distros) {
    const runs = outcomes.filter((outcome) => outcome.distro === distro);
    const made = runs.reduce(
      (sum, run) => sum + (run.summary ? run.summary.built.length + run.summary.reused.length : 0),
      0,
    );
    if (made === 0) reasons.push(`${distro}: no image was built`);
  }
  for (const outcome of outcomes) {
    const where = `${outcome.distro} ${outcome.set}`;
    if (outcome.error !== undefined) reasons.push(`${where}: ${outcome.error}`);
    const summary = outcome.summary;
    if (summary === undefined) continue;
    const pushFailed = new Set(summary.push_failed.map((entry) => entry.name));
    const buildFailed = summary.failed.filter((entry) => !pushFailed.has(entry.name));
    if (buildFailed.length > 0) reasons.push(`${where}: ${buildFailed.length} build(s) failed: ${names(buildFailed)}`);
    if (summary.scan_failed.length > 0)
      reasons.push(
        `${where}: ${summary.scan_failed.length} image(s) could not be scanned: ${names(summary.scan_failed)}`,
      );
    if (summary.push_failed.length > 0)
      reasons.push(`${where}: ${summary.push_failed.length} push(es) failed: ${names(summary.push_failed)}`);
    const critical = summary.held.filter((entry) => entry.verdict === 'critical');
    if (critical.length > 0)
      reasons.push(`${where}: critical vulnerabilities, not pushed (--push-dirty pushes them): ${names(critical)}`);
  }
  return { exitCode: reasons.length > 0 ? 1 : 0, reasons };
}
