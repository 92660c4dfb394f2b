import { join } from 'node:path';
import { PIPELINE_SUMMARY } from '../report/summary.js';
import { summaryCsv, VERDICTS } from '../scan/scan-outputs.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { describeNotRun, describeReason, type PipelineVerdict, type SetOutcome } from './exit-reasons.js';
import type { GateContext } from './gate.js';

/** The list files, named as the operators' scan script and push loop name them. */
export const LIST_FILES = {
  clean: 'clean-images.txt',
  dirty: 'dirty-images.txt',
  critical: 'critical-images.txt',
  pushAttempt: 'push-attempt-images.txt',
  pushFailed: 'push-failed-images.txt',
} as const;

export const SCAN_CSV = 'scan-summary.csv';

const lines = (references: readonly string[]) => [...new Set(references)].map((reference) => `${reference}\n`).join('');

/**
 * The top of the artifacts folder, over every distro and set: the verdict and push lists, the CSV of
 * the findings that count, and the pipeline's summary. Each file is whole or absent.
 */
export async function writePipelineArtifacts(
  dir: string,
  context: Pick<GateContext, 'found' | 'admitted'>,
  outcomes: readonly SetOutcome[],
  verdict: PipelineVerdict,
  push: boolean,
): Promise<void> {
  // An image both sets need (a shared parent) is scanned in each: one row set per reference.
  const found = [...new Map(context.found.map((scan) => [scan.reference, scan])).values()];
  for (const kind of VERDICTS) {
    const references = found.filter((scan) => scan.verdict === kind).map((scan) => scan.reference);
    await writeFileAtomic(join(dir, LIST_FILES[kind]), lines(references));
  }
  await writeFileAtomic(join(dir, LIST_FILES.pushAttempt), lines(push ? context.admitted : []));
  const pushFailed = outcomes.flatMap((outcome) => outcome.summary?.push_failed.map((entry) => entry.reference) ?? []);
  await writeFileAtomic(join(dir, LIST_FILES.pushFailed), lines(pushFailed));
  await writeFileAtomic(join(dir, SCAN_CSV), summaryCsv(found));
  const summary = {
    exit_code: verdict.exitCode,
    reasons: verdict.reasons.map((reason) => ({ ...reason, message: describeReason(reason) })),
    runs: outcomes.map((outcome) => ({
      distro: outcome.distro,
      set: outcome.set,
      tag: outcome.tag,
      run_dir: outcome.runDir,
      exit_code: outcome.exitCode,
      ...(outcome.notRun !== undefined
        ? { error: describeNotRun(outcome.notRun), error_kind: outcome.notRun.kind }
        : {}),
      summary: outcome.summary ?? null,
    })),
  };
  await writeFileAtomic(join(dir, PIPELINE_SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
}
