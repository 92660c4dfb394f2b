/**
 * ci-builder's own share of a run, step by step, from its summary.json: what the engines' builds took, what
 * ci-builder did around each build (build context, version label), and what the command spent outside the
 * run (plan, base image, deciding each image's work before; the summary and report after).
 */
import type { RunSummary } from '../../src/report/summary.js';

export interface OwnSteps {
  /** Images built in the run (reused ones have no steps). */
  images: number;
  /** Sum of the built images' build seconds. */
  imageSeconds: number;
  engine: number;
  context: number;
  versionLabel: number;
  /** The command's start to the run's start: config, plan, base image, each image's work decided. */
  beforeRun: number;
  /** The run's end to the command's end. */
  afterRun: number;
}

/** The steps of one run; `startedMs` and `endedMs` are the command's own start and end (epoch ms). */
export function ownSteps(summary: Partial<RunSummary>, startedMs: number, endedMs: number): OwnSteps | null {
  if (summary.images === undefined || summary.started_at === undefined) return null;
  const steps: OwnSteps = {
    images: 0,
    imageSeconds: 0,
    engine: 0,
    context: 0,
    versionLabel: 0,
    beforeRun: (Date.parse(summary.started_at) - startedMs) / 1000,
    afterRun: summary.finished_at ? (endedMs - Date.parse(summary.finished_at)) / 1000 : 0,
  };
  for (const record of Object.values(summary.images)) {
    if (record.status !== 'built' || record.build_steps === undefined) continue;
    steps.images += 1;
    steps.imageSeconds += record.build_seconds ?? 0;
    steps.engine += record.build_steps.engine;
    steps.context += record.build_steps.context;
    steps.versionLabel += record.build_steps.version_label;
  }
  return steps;
}

/** ci-builder's own share of its images' time: all but the engine's builds. */
export function ownShare(steps: OwnSteps): number {
  return steps.imageSeconds > 0 ? (steps.imageSeconds - steps.engine) / steps.imageSeconds : 0;
}

/** A markdown table: one row per ci-builder run that has steps. */
export function ownStepsTable(runs: ReadonlyArray<{ scenario: string; tool: string; steps: OwnSteps }>): string[] {
  const lines = [
    '| scenario | engine | images built | image s | engine build s | context s | version label s | ' +
      'other s | own share | before the run s | after the run s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const s = (value: number) => value.toFixed(1);
  for (const { scenario, tool, steps } of runs) {
    const other = steps.imageSeconds - steps.engine - steps.context - steps.versionLabel;
    const cells = [scenario, tool, String(steps.images), s(steps.imageSeconds), s(steps.engine), s(steps.context)];
    cells.push(s(steps.versionLabel), s(other), `${(ownShare(steps) * 100).toFixed(1)} %`);
    cells.push(s(steps.beforeRun), s(steps.afterRun));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}
