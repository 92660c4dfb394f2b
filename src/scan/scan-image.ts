import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, EngineFailure, MountedImage } from '../engine/types.js';
import { fail, ok, type Result } from '../util/result.js';
import { allowedFor, type AllowList } from './allow-list.js';
import { imageNameOf } from './image-reference.js';
import { inventoryOf, isInventoryFile } from './inventory.js';
import { readRootFiles } from './root-files.js';
import { ImageLayoutError, readLayoutFiles, type LayerCache } from './layer-files.js';
import { matchInventory, type LanguagePackages } from './match.js';
import { RpmDatabaseError } from './rpm-database.js';
import { TarFormatError, TarLimitError } from '../util/tar-stream.js';
import { InventoryLimitError } from './inventory-limits.js';
import { trivyFindings } from './trivy.js';
import type { Finding, Inventory, Verdict } from './types.js';
import { classify, type FindingStatus } from './verdict.js';
import type { VulnerabilityDatabase } from './vulnerability-db.js';

export type Scanner = { kind: 'osv'; database: VulnerabilityDatabase } | { kind: 'trivy'; command?: string };

export interface ScanSettings {
  engine: Engine;
  scanner: Scanner;
  ignoreUnfixed: boolean;
  /** Which Python distributions PyPI advisories apply to (the built-in scanner): unowned by default. */
  languagePackages?: LanguagePackages;
  allowList: AllowList;
  /** Shared by the scans of one run, so common lower layers are read once. */
  layerCache?: LayerCache;
  signal?: AbortSignal;
  /**
   * The image is in no store (composed at the registry, not pushed yet): its root is read from this mount, and
   * it is named by this digest. Only the built-in scanner reads a root; trivy reads an exported image.
   */
  composed?: { mount: () => Promise<Result<MountedImage, EngineFailure>>; digest: string };
}

export interface ImageScan {
  reference: string;
  name: string;
  scanner: Scanner['kind'];
  verdict: Verdict;
  inventory: Inventory;
  /** The image's manifest digest, when the engine knows it: what names the image whatever its tags. */
  digest?: string;
  findings: Array<Finding & { status: FindingStatus }>;
  /** Where the files came from: the engine's storage, mounted, or the layers of an exported layout. */
  source: InventorySource;
  /** `export` is the time to mount the image, on the mount path. */
  seconds: { export: number; inventory: number; match: number };
}

export type InventorySource = 'mount' | 'layers';

const since = (start: number) => (performance.now() - start) / 1000;

/** An image's inventory, read from its exported layers; the engine only exports. */
export async function inventoryOfLayout(
  layoutDir: string,
  layerCache?: LayerCache,
  signal?: AbortSignal,
): Promise<Inventory> {
  return inventoryOf(await readLayoutFiles(layoutDir, isInventoryFile, layerCache, { signal }));
}

const UNREADABLE = [TarFormatError, TarLimitError, InventoryLimitError, ImageLayoutError, RpmDatabaseError];

/** The inventory, or the one line saying why the image's packages could not be read. */
async function readInventory(reference: string, read: () => Promise<Inventory>): Promise<Result<Inventory, string>> {
  try {
    return ok(await read());
  } catch (error) {
    if (!UNREADABLE.some((kind) => error instanceof kind) || !(error instanceof Error)) throw error;
    return fail(`${reference}: cannot read the image's packages: ${error.message}`);
  }
}

interface Inventoried {
  inventory: Inventory;
  source: InventorySource;
  seconds: { export: number; inventory: number };
}

/**
 * The inventory straight from the image's mounted root (the engine's storage, or a composition's folders): no
 * export. Undefined when the engine cannot mount it and `exportable` (then the caller exports); the mount is
 * released whatever happens.
 */
async function inventoryFromMount(
  reference: string,
  mount: (() => Promise<Result<MountedImage, EngineFailure>>) | undefined,
  exportable: boolean,
  signal?: AbortSignal,
): Promise<Result<Inventoried, string> | undefined> {
  if (mount === undefined) return undefined;
  let start = performance.now();
  const mounted = await mount();
  if (!mounted.ok) {
    // A missing image or an interrupt is the answer; any other refusal leaves the export path, if there is one.
    const kind = mounted.failure.kind;
    if (exportable && (kind === 'engine' || kind === 'connection')) return undefined;
    return fail(`${reference}: cannot read the image: ${mounted.failure.message}`);
  }
  try {
    const mountSeconds = since(start);
    start = performance.now();
    const inventory = await readInventory(reference, async () =>
      inventoryOf(await readRootFiles(mounted.value.root, isInventoryFile, { signal })),
    );
    if (!inventory.ok) return inventory;
    return ok({
      inventory: inventory.value,
      source: 'mount',
      seconds: { export: mountSeconds, inventory: since(start) },
    });
  } finally {
    await mounted.value.release();
  }
}

/** The inventory from the layers of the image exported as an OCI layout into `layout`. */
async function inventoryFromLayers(
  reference: string,
  layout: string,
  settings: ScanSettings,
): Promise<Result<Inventoried, string>> {
  let start = performance.now();
  const exported = await settings.engine.exportOci(reference, layout, { signal: settings.signal });
  if (!exported.ok) return fail(`${reference}: cannot read the image: ${exported.failure.message}`);
  const exportSeconds = since(start);
  start = performance.now();
  const inventory = await readInventory(reference, () =>
    inventoryOfLayout(layout, settings.layerCache, settings.signal),
  );
  if (!inventory.ok) return inventory;
  return ok({
    inventory: inventory.value,
    source: 'layers',
    seconds: { export: exportSeconds, inventory: since(start) },
  });
}

/**
 * Scans one image: read its inventory (from the engine's storage where the image can be mounted,
 * else from the layers of its OCI export), match it (or let trivy, which reads the export, do so),
 * then classify with the allow-list. An image that cannot be read is returned, not thrown.
 */
export async function scanImage(reference: string, settings: ScanSettings): Promise<Result<ImageScan, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-scan-'));
  try {
    const layout = join(dir, 'layout');
    const { engine, composed } = settings;
    const osv = settings.scanner.kind === 'osv';
    if (composed !== undefined && !osv) return fail(`${reference}: trivy cannot read an image that is in no store`);
    // Asked while the inventory is read: the digest is the SBOM's subject, not something to wait for.
    const inspected = composed === undefined ? engine.inspect(reference) : undefined;
    const mountImage = engine.mountImage?.bind(engine);
    const mount = composed?.mount ?? (mountImage && (() => mountImage(reference)));
    const exportable = composed === undefined;
    const read =
      (osv ? await inventoryFromMount(reference, mount, exportable, settings.signal) : undefined) ??
      (await inventoryFromLayers(reference, layout, settings));
    if (!read.ok) return read;
    const { inventory, source, seconds } = read.value;
    const start = performance.now();
    const findings =
      settings.scanner.kind === 'osv'
        ? matchInventory(inventory, settings.scanner.database, settings.languagePackages)
        : await trivyFindings(layout, reference, settings.signal, settings.scanner.command);
    const matchSeconds = since(start);
    const name = imageNameOf(reference);
    const policy = { ignoreUnfixed: settings.ignoreUnfixed, allowed: allowedFor(settings.allowList, name) };
    const { verdict, statuses } = classify(findings, policy);
    const info = await inspected;
    const digest = composed?.digest ?? (info?.ok ? info.value.digest : undefined);
    return ok({
      reference,
      name,
      scanner: settings.scanner.kind,
      verdict,
      inventory,
      ...(digest ? { digest } : {}),
      findings: findings.map((finding, index) => ({ ...finding, status: statuses[index] ?? 'counted' })),
      source,
      seconds: { ...seconds, match: matchSeconds },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
