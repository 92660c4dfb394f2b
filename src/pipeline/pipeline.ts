import { join } from 'node:path';
import { runTag } from '../plan/naming.js';
import { runBuilds, type BuildRunsRequest } from '../run/build-runs.js';
import type { LayerCache } from '../scan/layer-files.js';
import type { ScanSettings } from '../scan/scan-image.js';
import { UsageError, errorMessage } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import { writePipelineArtifacts } from './artifacts.js';
import { pipelineVerdict, type PipelineVerdict, type SetOutcome } from './exit-reasons.js';
import { scanGate, type GateContext } from './gate.js';

/** A set of the pipeline by name, with the regexes that choose its images. */
export interface PipelineSet {
  name: string;
  regexes: string[];
}

export interface PipelineRequest extends Omit<BuildRunsRequest, 'distros' | 'regexes' | 'tag' | 'runDir' | 'gate'> {
  distros: readonly string[];
  sets: readonly PipelineSet[];
  /** Every run folder and the pipeline's own files go under it. */
  artifactsDir: string;
  /** The one timestamp of every tag of the pipeline. */
  startedAt: Date;
  scan: Omit<ScanSettings, 'engine' | 'signal' | 'layerCache'>;
  pushDirty: boolean;
  toolVersion: string;
}

export interface PipelineResult extends PipelineVerdict {
  outcomes: SetOutcome[];
}

/**
 * The CI run: for each distro, each set in turn (overcloud then seed), built under the distro's one
 * tag into `<artifacts>/<distro>/<set>/`; every image scanned as soon as it exists and pushed when its
 * verdict allows. A distro that cannot be built fails on its own; the others go on.
 */
export async function runPipeline(
  request: PipelineRequest,
  onFinished: (outcome: SetOutcome) => void,
): Promise<PipelineResult> {
  const { config } = request.loaded;
  const layerCache: LayerCache = new Map();
  const context: GateContext = {
    settings: { ...request.scan, engine: request.engine, layerCache },
    scans: new Limiter(config.threads),
    pushDirty: request.pushDirty,
    toolVersion: request.toolVersion,
    found: [],
    admitted: [],
  };
  const outcomes: SetOutcome[] = [];
  for (const distro of request.distros) {
    const tag = runTag(config.release, distro, config.distros[distro]?.version ?? '', request.startedAt);
    for (const set of request.sets) {
      if (request.signal.aborted) break;
      const runDir = join(request.artifactsDir, distro, set.name);
      const base = { distro, set: set.name, tag, runDir };
      try {
        const [run] = await runBuilds(
          {
            ...request,
            distros: [distro],
            regexes: set.regexes,
            tag,
            runDir,
            gate: (run) => scanGate(context, run),
          },
          () => undefined,
        );
        const outcome: SetOutcome = run
          ? { ...base, summary: run.summary, exitCode: run.exitCode }
          : { ...base, exitCode: 130, error: 'interrupted before it started' };
        outcomes.push(outcome);
        onFinished(outcome);
      } catch (error) {
        // Bad input stops everything (nothing should be half-done for it); anything else fails this run only.
        if (error instanceof UsageError) throw error;
        const outcome: SetOutcome = { ...base, exitCode: 1, error: errorMessage(error) };
        outcomes.push(outcome);
        onFinished(outcome);
      }
    }
  }
  const verdict = pipelineVerdict(outcomes, request.signal.aborted);
  await writePipelineArtifacts(request.artifactsDir, context, outcomes, verdict, request.push);
  return { ...verdict, outcomes };
}
