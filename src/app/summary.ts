import { join } from 'node:path';
import { mergeRunFolders, type MergedRun } from '../shard/merge-run-folders.js';
import { readShardSummary } from '../shard/shard-summary.js';
import { checkOutputDir } from '../util/output-path.js';
import { pacer } from '../util/pace.js';
import { RUNS_DIR } from '../util/runs-dir.js';

export type { MergedRun };

/** `summary merge`: the run folders of one run's shards as one run folder (default `<runs>/<tag>-merged`). */
export async function mergeShards(
  runDirs: readonly string[],
  out: string | undefined,
  signal: AbortSignal,
): Promise<MergedRun> {
  const [first] = runDirs;
  const tagOf = async (dir: string) => (await readShardSummary(dir, pacer(signal))).summary.tag;
  const outDir = out ?? join(RUNS_DIR, `${first === undefined ? 'run' : await tagOf(first)}-merged`);
  checkOutputDir(outDir, '--out');
  return mergeRunFolders(runDirs, outDir, signal);
}
