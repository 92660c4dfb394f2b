import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/types.js';
import { fail, ok, type Result } from '../util/result.js';
import { allowedFor, type AllowList } from './allow-list.js';
import { imageNameOf } from './image-reference.js';
import { inventoryOf, isInventoryFile } from './inventory.js';
import { ImageLayoutError, readLayoutFiles, type LayerCache } from './layer-files.js';
import { matchInventory } from './match.js';
import { RpmDatabaseError } from './rpm-database.js';
import { TarFormatError } from './tar-stream.js';
import { trivyFindings } from './trivy.js';
import type { Finding, Inventory, Verdict } from './types.js';
import { classify, type FindingStatus } from './verdict.js';
import type { VulnerabilityDatabase } from './vulnerability-db.js';

export type Scanner = { kind: 'osv'; database: VulnerabilityDatabase } | { kind: 'trivy'; command?: string };

export interface ScanSettings {
  engine: Engine;
  scanner: Scanner;
  ignoreUnfixed: boolean;
  allowList: AllowList;
  /** Shared by the scans of one run, so common lower layers are read once. */
  layerCache?: LayerCache;
  signal?: AbortSignal;
}

export interface ImageScan {
  reference: string;
  name: string;
  scanner: Scanner['kind'];
  verdict: Verdict;
  inventory: Inventory;
  findings: Array<Finding & { status: FindingStatus }>;
  seconds: { export: number; inventory: number; match: number };
}

const since = (start: number) => (performance.now() - start) / 1000;

/** An image's inventory, read from its exported layers; the engine only exports. */
export async function inventoryOfLayout(layoutDir: string, layerCache?: LayerCache): Promise<Inventory> {
  return inventoryOf(await readLayoutFiles(layoutDir, isInventoryFile, layerCache));
}

/**
 * Scans one image: export it as an OCI layout, read its inventory from the layers, match it (or let
 * trivy do so), then classify with the allow-list. A failed export is returned, not thrown.
 */
export async function scanImage(reference: string, settings: ScanSettings): Promise<Result<ImageScan, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-scan-'));
  try {
    const layout = join(dir, 'layout');
    let start = performance.now();
    const exported = await settings.engine.exportOci(reference, layout);
    if (!exported.ok) return fail(`${reference}: cannot read the image: ${exported.failure.message}`);
    const exportSeconds = since(start);
    start = performance.now();
    let inventory: Inventory;
    try {
      inventory = await inventoryOfLayout(layout, settings.layerCache);
    } catch (error) {
      const unreadable = [TarFormatError, ImageLayoutError, RpmDatabaseError].some((kind) => error instanceof kind);
      if (!unreadable || !(error instanceof Error)) throw error;
      return fail(`${reference}: cannot read the image's packages: ${error.message}`);
    }
    const inventorySeconds = since(start);
    start = performance.now();
    const findings =
      settings.scanner.kind === 'osv'
        ? matchInventory(inventory, settings.scanner.database)
        : await trivyFindings(layout, reference, settings.signal, settings.scanner.command);
    const matchSeconds = since(start);
    const name = imageNameOf(reference);
    const policy = { ignoreUnfixed: settings.ignoreUnfixed, allowed: allowedFor(settings.allowList, name) };
    const { verdict, statuses } = classify(findings, policy);
    return ok({
      reference,
      name,
      scanner: settings.scanner.kind,
      verdict,
      inventory,
      findings: findings.map((finding, index) => ({ ...finding, status: statuses[index] ?? 'counted' })),
      seconds: { export: exportSeconds, inventory: inventorySeconds, match: matchSeconds },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
