import { resolve } from 'node:path';
import { regexesOfSets } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import { runStamp } from '../plan/naming.js';
import type { SetOutcome } from '../pipeline/exit-reasons.js';
import { runPipeline, type PipelineResult, type PipelineSet } from '../pipeline/pipeline.js';
import type { Reporter } from '../report/events.js';
import { runSettings, type RunFlags } from '../run/settings.js';
import { readAllowList, type AllowList } from '../scan/allow-list.js';
import type { LanguagePackages } from '../scan/match.js';
import type { Scanner } from '../scan/scan-image.js';
import { assertTrivyRuns } from '../scan/trivy.js';
import { loadVulnerabilityDatabase } from '../scan/vulnerability-db.js';
import { shardRequest, type ShardFlags } from '../shard/shard-request.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import type { Workspace } from './workspace.js';

export { describeNotRun, describeReason, type SetOutcome } from '../pipeline/exit-reasons.js';

/** A tag's timestamp as the tags spell it, UTC (20240903T113235); undefined when it is not one. */
export function parseRunStamp(value: string): Date | undefined {
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(value);
  const at = parts ? new Date(`${parts[1]}-${parts[2]}-${parts[3]}T${parts[4]}:${parts[5]}:${parts[6]}Z`) : undefined;
  return at === undefined || Number.isNaN(at.getTime()) || runStamp(at) !== value ? undefined : at;
}

/** The set whose regexes positional regexes replace, as `kayobe overcloud container image build <regexes>`. */
export const REGEX_SET = 'overcloud';

/** How the pipeline scans, as the command line asks (the configuration fills in the rest). */
export interface PipelineScanFlags {
  osvDb?: string[];
  scanner?: 'osv' | 'trivy';
  ignoreUnfixed?: boolean;
  languagePackages?: LanguagePackages;
  allowedVulnerabilities?: string;
}

/** `pipeline`: every distro and set under one timestamp, scanned and gated before each push. */
export interface PipelineCommandRequest {
  workspace: Workspace;
  regexes: readonly string[];
  sets: readonly string[];
  distros?: readonly string[];
  /** The one timestamp of every tag; default now. */
  timestamp?: Date;
  artifacts?: string;
  pushDirty: boolean;
  flags: RunFlags;
  shard: ShardFlags;
  scan: PipelineScanFlags;
  toolVersion: string;
  progress: () => Reporter;
  signal: AbortSignal;
}

export interface PipelineCommandOutcome extends PipelineResult {
  artifactsDir: string;
}

export async function runPipelineCommand(
  request: PipelineCommandRequest,
  onSet: (outcome: SetOutcome) => void,
): Promise<PipelineCommandOutcome> {
  const { workspace, flags, signal } = request;
  const { loaded, catalog } = workspace;
  const { config } = loaded;
  const startedAt = request.timestamp ?? new Date();
  const artifacts = request.artifacts ?? `${RUNS_DIR}/${config.release}-${runStamp(startedAt)}`;
  checkOutputDir(artifacts, '--artifacts');
  const distros = chosenDistros(config, request.distros);
  const names = [...new Set(request.sets)];
  const sets: PipelineSet[] = (names.length > 0 ? names : [REGEX_SET, 'seed']).map((name) => ({
    name,
    regexes:
      name === REGEX_SET && request.regexes.length > 0 ? [...request.regexes] : regexesOfSets(config.sets, [name]),
  }));
  const settings = runSettings(loaded, flags);
  const shard = shardRequest(request.shard, {
    loaded,
    catalog,
    distros,
    // One partition over every set: a parent two sets share has one owner.
    regexes: sets.flatMap((set) => set.regexes),
    push: settings.push,
    skipParents: settings.skipParents,
    oneTag: { flag: '--timestamp', given: request.timestamp !== undefined },
  });
  const scan = await scanSettings(workspace, request.scan, signal);
  const artifactsDir = resolve(artifacts);
  const result = await runPipeline(
    {
      loaded,
      catalog,
      settings,
      distros,
      sets,
      artifactsDir,
      startedAt,
      scan,
      pushDirty: request.pushDirty,
      toolVersion: request.toolVersion,
      progress: request.progress,
      signal,
      ...(shard ? { shard } : {}),
    },
    onSet,
  );
  return { ...result, artifactsDir, exitCode: signal.aborted ? 130 : result.exitCode };
}

/** The scanner, its database and the allow list, checked before anything is built. */
async function scanSettings(workspace: Workspace, flags: PipelineScanFlags, signal: AbortSignal) {
  const { loaded } = workspace;
  const { config } = loaded;
  const scannerKind = flags.scanner ?? config.scan.scanner;
  const osvDb = flags.osvDb ? flags.osvDb.map((path) => resolve(path)) : loaded.scanFiles.osvDb;
  if (scannerKind === 'osv' && osvDb.length === 0)
    throw new UsageError('the osv scanner needs a database: --osv-db PATH or scan.osv_db (or use --scanner trivy)');
  const allowFile = flags.allowedVulnerabilities ?? loaded.scanFiles.allowedVulnerabilities;
  const allowList: AllowList = allowFile ? readAllowList(allowFile) : new Map();
  if (scannerKind === 'trivy') await assertTrivyRuns();
  const scanner: Scanner =
    scannerKind === 'osv'
      ? { kind: 'osv', database: await loadVulnerabilityDatabase(osvDb, signal) }
      : { kind: 'trivy' };
  return {
    scanner,
    ignoreUnfixed: flags.ignoreUnfixed ?? config.scan.ignore_unfixed,
    languagePackages: flags.languagePackages ?? config.scan.language_packages,
    allowList,
  };
}
