import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { createEngine } from '../engine/index.js';
import { readAllowList, type AllowList } from '../scan/allow-list.js';
import { imageNameOf } from '../scan/image-reference.js';
import type { LayerCache } from '../scan/layer-files.js';
import type { LanguagePackages } from '../scan/match.js';
import { scanImage, type ImageScan, type Scanner } from '../scan/scan-image.js';
import { writeScanOutputs } from '../scan/scan-outputs.js';
import { assertTrivyRuns } from '../scan/trivy.js';
import { loadVulnerabilityDatabase } from '../scan/vulnerability-db.js';
import { UsageError, WorkFailedError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';

export { countsOf, imageReport } from '../scan/scan-outputs.js';
export type { ImageScan };

/** `scan`: images of the engine's storage against an OSV database (or trivy). */
export interface ScanRequest {
  loaded: LoadedConfig;
  images: readonly string[];
  scanner: 'osv' | 'trivy';
  osvDb?: readonly string[];
  /** The folder that gets scan/. */
  out: string;
  ignoreUnfixed: boolean;
  languagePackages?: LanguagePackages;
  allowedVulnerabilities?: string;
  toolVersion: string;
  signal: AbortSignal;
}

export interface ScanOutcome {
  scans: ImageScan[];
  /** Where the reports went. */
  dir: string;
  critical: number;
}

/** Every image scanned, in order; undefined when the signal stopped it (nothing more is written). */
export async function scanImages(request: ScanRequest): Promise<ScanOutcome | undefined> {
  const { loaded, images, signal } = request;
  const names = images.map(imageNameOf);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new UsageError(`two references name the image ${duplicate}: their reports would collide`);
  if (request.scanner === 'osv' && !request.osvDb?.length) {
    throw new UsageError('--osv-db PATH is needed for the osv scanner (or use --scanner trivy)');
  }
  // Before any image is scanned: a folder that cannot be written is bad input, not a failure at the end.
  const outDir = checkOutputDir(request.out, '--out');
  const allowFile = request.allowedVulnerabilities;
  const allowList: AllowList = allowFile ? readAllowList(allowFile) : new Map();
  const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
  for (const image of images) {
    const present = await engine.exists(image);
    if (!present.ok) throw new WorkFailedError(`${image}: ${present.failure.message}`);
    if (!present.value) throw new UsageError(`${image}: no such image in ${engine.name}'s storage`);
  }
  if (request.scanner === 'trivy') await assertTrivyRuns();
  const scanner: Scanner =
    request.scanner === 'osv'
      ? {
          kind: 'osv',
          database: await loadVulnerabilityDatabase(
            (request.osvDb ?? []).map((path) => resolve(path)),
            signal,
          ),
        }
      : { kind: 'trivy' };
  const languagePackages = request.languagePackages ?? loaded.config.scan.language_packages;
  const { ignoreUnfixed } = request;
  const layerCache: LayerCache = new Map();
  const scans: ImageScan[] = [];
  for (const image of images) {
    if (signal.aborted) return undefined;
    const scanned = await scanImage(image, {
      engine,
      scanner,
      ignoreUnfixed,
      languagePackages,
      allowList,
      layerCache,
      signal,
    });
    if (!scanned.ok) throw new WorkFailedError(scanned.failure);
    scans.push(scanned.value);
  }
  const dir = await writeScanOutputs(outDir, scans, request.toolVersion);
  return { scans, dir, critical: scans.filter((scan) => scan.verdict === 'critical').length };
}
