import { join } from 'node:path';
import { runTag } from '../plan/naming.js';
import { runOne, withRunServices, type RunScope } from '../run/build-runs.js';
import type { RunServices } from '../run/services.js';
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

export interface PipelineRequest extends RunScope {
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
 * verdict allows. A distro that cannot be built fails on its own; the others go on. The run's services
 * (proxy, package cache, registry credential) are opened once for all of them.
 */
export async function runPipeline(
  request: PipelineRequest,
  onFinished: (outcome: SetOutcome) => void,
): Promise<PipelineResult> {
  const layerCache: LayerCache = new Map();
  const context: GateContext = {
    settings: { ...request.scan, engine: request.settings.engine, layerCache },
    scans: new Limiter(request.settings.threads),
    pushDirty: request.pushDirty,
    toolVersion: request.toolVersion,
    found: [],
    admitted: [],
  };
  const outcomes: SetOutcome[] = [];
  const end = (outcome: SetOutcome) => (outcomes.push(outcome), onFinished(outcome));
  try {
    await withRunServices(request, async (services) => {
      for (const distro of request.distros) {
        for (const set of request.sets) {
          if (request.signal.aborted) return;
          end(await runSet(request, services, context, distro, set));
        }
      }
    });
  } catch (error) {
    // The run's services did not start (a proxy whose Pulp is down): every set says so, artifacts are written.
    if (error instanceof UsageError) throw error;
    const notRun = { kind: 'services-unavailable', message: errorMessage(error) } as const;
    for (const distro of request.distros)
      for (const set of request.sets) end({ ...setPlace(request, distro, set), exitCode: 1, notRun });
  }
  const verdict = pipelineVerdict(outcomes, request.signal.aborted);
  await writePipelineArtifacts(request.artifactsDir, context, outcomes, verdict, request.settings.push);
  return { ...verdict, outcomes };
}

async function runSet(
  request: PipelineRequest,
  services: RunServices,
  context: GateContext,
  distro: string,
  set: PipelineSet,
): Promise<SetOutcome> {
  const base = setPlace(request, distro, set);
  const { tag, runDir } = base;
  try {
    const gate = (events: Parameters<typeof scanGate>[1]['events']) => scanGate(context, { events, runDir });
    const run = await runOne(request, services, { distro, regexes: set.regexes, tag, runDir, gate });
    return { ...base, summary: run.summary, exitCode: run.exitCode };
  } catch (error) {
    // Bad input stops everything (nothing should be half-done for it); anything else fails this run only.
    if (error instanceof UsageError) throw error;
    return { ...base, exitCode: 1, notRun: { kind: 'could-not-start', message: errorMessage(error) } };
  }
}

/** Where a set's run goes: its tag (one per distro) and its folder under the artifacts. */
function setPlace(request: PipelineRequest, distro: string, set: PipelineSet) {
  const { config } = request.loaded;
  const tag = runTag(config.release, distro, config.distros[distro]?.version ?? '', request.startedAt);
  return { distro, set: set.name, tag, runDir: join(request.artifactsDir, distro, set.name) };
}
