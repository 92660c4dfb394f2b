import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SUMMARY_LIMITS } from '../report/summary.js';
import { readInputText } from '../util/read-input.js';

/** How many of the newest runs are read: enough for every set and distro of the last few runs. */
export const RECORDED_RUNS = 50;

/**
 * The images earlier runs in a runs folder recorded, by input digest: the engine ids their summaries (build
 * runs', and each distro and set of a pipeline's) name for images built or reused. The newest run wins. A folder that cannot be read, or a summary that is not
 * one, adds nothing: this only speeds up finding an image, the engine's own search stays the authority.
 */
export async function recordedImages(runsDir: string, limit = RECORDED_RUNS): Promise<RecordedImages> {
  const summaries = await newestSummaries(runsDir, limit);
  const byInput = new Map<string, string>();
  const byRecipe = new Map<string, string[]>();
  const inRegistry = new Map<string, string>();
  for (const file of summaries) {
    // A summary.json that is a FIFO, or huge, adds nothing: it would otherwise hold up every build.
    for (const { input, recipe, id, composedAt } of imagesOf(
      await readInputText(file, SUMMARY_LIMITS).catch(() => ''),
    )) {
      if (!byInput.has(input)) byInput.set(input, id);
      if (composedAt !== undefined && !inRegistry.has(id)) inRegistry.set(id, composedAt);
      if (recipe === undefined) continue;
      const ids = byRecipe.get(recipe) ?? [];
      if (!ids.includes(id)) byRecipe.set(recipe, [...ids, id]);
    }
  }
  return { byInput, byRecipe, inRegistry };
}

/**
 * Image ids by input digest (the image to reuse; the newest run's wins) and by recipe digest (the images a
 * respin may patch or reuse when only the snapshots moved, newest first: the newest may have left the engine
 * while an older one of the same recipe is still there); for images composed at the registry, where they are.
 */
export interface RecordedImages {
  byInput: ReadonlyMap<string, string>;
  byRecipe: ReadonlyMap<string, readonly string[]>;
  /** Images composed at the registry (never in the engine's store): where their run pushed them, by image id. */
  inRegistry?: ReadonlyMap<string, string>;
}

async function newestSummaries(runsDir: string, limit: number): Promise<string[]> {
  const perRun = await Promise.all(
    (await subfolders(runsDir)).map(async (run) => {
      const own = await datedSummary(run);
      if (own !== undefined) return [own];
      // Not a build run: a pipeline keeps one summary per distro and set, in <distro>/<set>/.
      const sets = (await Promise.all((await subfolders(run)).map(subfolders))).flat();
      return (await Promise.all(sets.map(datedSummary))).filter((found) => found !== undefined);
    }),
  );
  return perRun
    .flat()
    .sort((a, b) => b.modified - a.modified)
    .slice(0, limit)
    .map((summary) => summary.file);
}

async function datedSummary(folder: string): Promise<{ file: string; modified: number } | undefined> {
  const file = join(folder, 'summary.json');
  return stat(file).then(
    (info) => ({ file, modified: info.mtimeMs }),
    () => undefined,
  );
}

async function subfolders(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => join(folder, entry.name));
}

/** Input digest, recipe digest and image id of each image a summary's text records as built, reused or patched. */
function imagesOf(text: string): Array<{ input: string; recipe?: string; id: string; composedAt?: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const images = isRecord(parsed) && isRecord(parsed.images) ? Object.values(parsed.images) : [];
  return images.flatMap((image) => {
    if (!isRecord(image) || !['built', 'reused', 'patched'].includes(String(image.status))) return [];
    const { input_digest: input, recipe_digest: recipe, image_id: id, reference } = image;
    if (typeof input !== 'string' || typeof id !== 'string' || id === '') return [];
    const composed = image.composed_at_registry === true && typeof reference === 'string';
    return [
      { input, id, ...(typeof recipe === 'string' ? { recipe } : {}), ...(composed ? { composedAt: reference } : {}) },
    ];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
