import { chosenRegexes } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import { isValidTag } from '../plan/naming.js';
import type { Reporter } from '../report/events.js';
import { runBuilds, type FinishedRun } from '../run/build-runs.js';
import { runSettings, type RunFlags } from '../run/settings.js';
import { shardRequest, type ShardFlags } from '../shard/shard-request.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import type { Workspace } from './workspace.js';

/** `build`: the selected images of each distro, one tag and one run folder per distro. */
export interface BuildRequest {
  workspace: Workspace;
  regexes: readonly string[];
  sets: readonly string[];
  distros?: readonly string[];
  tag?: string;
  runDir?: string;
  flags: RunFlags;
  shard: ShardFlags;
  progress: () => Reporter;
  signal: AbortSignal;
}

export interface BuildOutcome {
  runs: FinishedRun[];
  /** The worst of the runs: 130 interrupted, else 1 when anything failed. */
  exitCode: number;
}

export async function buildImages(request: BuildRequest, onRun: (run: FinishedRun) => void): Promise<BuildOutcome> {
  const { workspace, flags, signal } = request;
  const { loaded, catalog } = workspace;
  checkOutputDir(request.runDir ?? RUNS_DIR, '--run-dir');
  const distros = chosenDistros(loaded.config, request.distros);
  if (distros.length > 1 && (request.tag !== undefined || request.runDir !== undefined)) {
    throw new UsageError('--tag and --run-dir name one run: give a single --distro with them');
  }
  if (request.tag !== undefined && !isValidTag(request.tag))
    throw new UsageError(`invalid --tag ${JSON.stringify(request.tag)}: letters, digits, '_', '.', '-' (max 128)`);
  const settings = runSettings(loaded, flags);
  const regexes = chosenRegexes(loaded.config.sets, request.regexes, request.sets);
  const shard = shardRequest(request.shard, {
    loaded,
    catalog,
    distros,
    regexes,
    push: settings.push,
    skipParents: settings.skipParents,
    oneTag: { flag: '--tag', given: request.tag !== undefined },
  });
  const runs = await runBuilds(
    {
      loaded,
      catalog,
      settings,
      distros,
      regexes,
      progress: request.progress,
      signal,
      ...(request.tag !== undefined ? { tag: request.tag } : {}),
      ...(request.runDir !== undefined ? { runDir: request.runDir } : {}),
      ...(shard ? { shard } : {}),
    },
    onRun,
  );
  const worst = runs.some((run) => run.exitCode === 130) ? 130 : Math.max(0, ...runs.map((run) => run.exitCode));
  return { runs, exitCode: signal.aborted ? 130 : worst };
}

export type { RunFlags } from '../run/settings.js';
export type { ShardFlags } from '../shard/shard-request.js';
