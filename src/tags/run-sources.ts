import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { PIPELINE_SUMMARY, SUMMARY_LIMITS } from '../report/summary.js';
import { ConfigError, UsageError } from '../util/errors.js';
import { parseJsonInputPaced } from '../util/json-input.js';
import { pacer } from '../util/pace.js';
import { readInputText } from '../util/read-input.js';

const RUN_SUMMARY = 'summary.json';

/** One run's summary to read: a run's summary.json, or a run held inline in a pipeline's summary. */
export interface SummarySource {
  /** The file the summary is read from, as errors name it. */
  file: string;
  /** Where the summary sits in that file: '' for a summary.json, `runs.<i>.summary` in a pipeline's. */
  keyPath: string;
  /** How warnings name the run. */
  label: string;
  raw: unknown;
}

const pipelineSchema = z.looseObject({
  runs: z.array(
    z.looseObject({
      distro: z.string(),
      set: z.string(),
      error: z.string().optional(),
      summary: z.unknown(),
    }),
  ),
});

/**
 * A summary file: a regular file within the size limit (a FIFO would hang the command), parsed a piece at a
 * time with its nesting capped, its errors placed, never quoted; `pace` throws once interrupted.
 */
async function readJson(file: string, what: string, pace: () => Promise<void>): Promise<unknown> {
  return parseJsonInputPaced(await readInputText(file, { ...SUMMARY_LIMITS, what }), file, what, pace);
}

/**
 * Every run of a pipeline, from the summaries it wrote inline. A run that left no summary (it could
 * not start) makes the pipeline's tag unsafe to infer from: refused, its run folders can still be given.
 */
async function pipelineRuns(file: string, pace: () => Promise<void>): Promise<SummarySource[]> {
  const parsed = pipelineSchema.safeParse(await readJson(file, 'pipeline summary', pace));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join('.') ?? '';
    throw new ConfigError(file, key, `not a pipeline summary: ${issue?.message ?? 'unexpected shape'}`);
  }
  return parsed.data.runs.map((run, index) => {
    const keyPath = `runs.${index}.summary`;
    if (run.summary === null || run.summary === undefined) {
      const why = run.error ?? 'no reason given';
      const instead = 'give --run the run folders to roll out instead';
      throw new ConfigError(file, keyPath, `the ${run.distro}/${run.set} run left no summary (${why}): ${instead}`);
    }
    return { file, keyPath, label: `${file} (${run.distro}/${run.set})`, raw: run.summary };
  });
}

/** The summary.json files of the run folders in `dir` and one level further (a pipeline's `<distro>/<set>`). */
function nestedSummaries(dir: string): string[] {
  const folders = (parent: string) =>
    readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(parent, entry.name));
  const files = folders(dir).flatMap((folder) =>
    existsSync(join(folder, RUN_SUMMARY))
      ? [join(folder, RUN_SUMMARY)]
      : folders(folder)
          .map((inner) => join(inner, RUN_SUMMARY))
          .filter((file) => existsSync(file)),
  );
  return files.sort();
}

async function fileSource(file: string, pace: () => Promise<void>): Promise<SummarySource> {
  return { file, keyPath: '', label: file, raw: await readJson(file, 'run summary', pace) };
}

/**
 * The run summaries named by `--run` values: a run folder (summary.json inside), a pipeline's
 * artifacts folder (its pipeline-summary.json), a folder of run folders one or two levels down
 * (`<distro>/<set>/`), or a summary.json or pipeline-summary.json itself.
 */
export async function runSummaries(runs: readonly string[], signal?: AbortSignal): Promise<SummarySource[]> {
  const pace = pacer(signal);
  const sources: SummarySource[] = [];
  for (const run of runs) {
    const path = resolve(run);
    if (!existsSync(path)) throw new UsageError(`--run ${run}: no such file or folder`);
    // Anything but a folder is read as a summary file: a FIFO or a device is refused there, by its kind.
    if (!statSync(path).isDirectory()) {
      const isPipeline = basename(path) === PIPELINE_SUMMARY;
      sources.push(...(isPipeline ? await pipelineRuns(path, pace) : [await fileSource(path, pace)]));
    } else if (existsSync(join(path, RUN_SUMMARY))) sources.push(await fileSource(join(path, RUN_SUMMARY), pace));
    else if (existsSync(join(path, PIPELINE_SUMMARY))) {
      sources.push(...(await pipelineRuns(join(path, PIPELINE_SUMMARY), pace)));
    } else {
      const nested = nestedSummaries(path);
      if (nested.length === 0) throw new UsageError(`--run ${run}: no summary.json in it nor in its sub-folders`);
      for (const file of nested) sources.push(await fileSource(file, pace));
    }
  }
  return sources;
}

/** The newest run or pipeline folder under the runs folder (by its summary's modification time). */
export function latestRun(runsDir: string): string {
  const summaryOf = (folder: string) =>
    [RUN_SUMMARY, PIPELINE_SUMMARY].map((name) => join(folder, name)).find((file) => existsSync(file));
  const candidates = existsSync(runsDir)
    ? readdirSync(runsDir, { withFileTypes: true }).flatMap((entry) => {
        const summary = entry.isDirectory() ? summaryOf(join(runsDir, entry.name)) : undefined;
        return summary === undefined
          ? []
          : [{ folder: join(runsDir, entry.name), modified: statSync(summary).mtimeMs }];
      })
    : [];
  const newest = candidates.sort((a, b) => b.modified - a.modified)[0];
  if (newest === undefined) throw new UsageError(`no run in ${runsDir}: give --run DIR`);
  return newest.folder;
}
