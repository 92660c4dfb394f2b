import { RPM_DATABASE_FILES } from './rpm-database.js';

/**
 * How much of an image the inventory may read: a few KiB of gzip can hold a dpkg status of gigabytes.
 * The limits are far above what real images hold: a dpkg status lists every package in some 1-5 MiB
 * (a full desktop install), an EL9 rpmdb.sqlite or EL8 Packages file is 10-100 MiB, a Python METADATA
 * is rarely more than a few hundred KiB (a long changelog), os-release a few hundred bytes.
 */
const MiB = 1024 * 1024;
const DPKG_STATUS_BYTES = 64 * MiB;
const RPM_DATABASE_BYTES = 256 * MiB;
const PYTHON_METADATA_BYTES = 8 * MiB;
const OS_RELEASE_BYTES = 64 * 1024;

/** Everything read from one image together (layers shared with other images counted again). */
export const MAX_IMAGE_INVENTORY_BYTES = 512 * MiB;

/**
 * Entries kept from one layer (the files read and the whiteouts that hide lower ones): a real layer
 * keeps hundreds; each costs memory and whiteout matching, so a layer of millions is refused.
 */
export const MAX_LAYER_KEPT_ENTRIES = 200_000;

/** A file of the inventory an image holds more of than it may. */
export class InventoryLimitError extends Error {}

/** The largest size accepted for one of the files the inventory reads (isInventoryFile's). */
export function inventoryFileLimit(path: string): number {
  if (RPM_DATABASE_FILES.test(path)) return RPM_DATABASE_BYTES;
  if (path.startsWith('var/lib/dpkg/')) return DPKG_STATUS_BYTES;
  if (path.endsWith('/os-release')) return OS_RELEASE_BYTES;
  return PYTHON_METADATA_BYTES;
}
