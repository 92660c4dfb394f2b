import { join, resolve } from 'node:path';
import {
  dependencyJson,
  dependencyText,
  kollaDependencyListing,
  kollaImageListing,
  selectedRoots,
} from '../catalog/dependency-tree.js';
import type { Catalog } from '../catalog/types.js';
import { selectImages, type Selection } from '../catalog/select.js';
import { chosenRegexes } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import { createEngine } from '../engine/index.js';
import { imageReference, isValidTag, runTag } from '../plan/naming.js';
import { writePlanContexts, type UnwrittenImage } from '../plan/write-contexts.js';
import { smokeTestImage, type SmokeResult } from '../smoke/smoke-test.js';
import { UsageError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-path.js';
import { renderOnlyPlan, type Workspace } from './workspace.js';

/** Which images a command looks at: regexes and sets (parents come along), for which distros. */
export interface ImageChoice {
  workspace: Workspace;
  regexes: readonly string[];
  sets: readonly string[];
  distros?: readonly string[];
  skipParents?: boolean;
}

/** The selection for the first distro asked for (its unbuildable list applies). */
export function chooseImages(choice: ImageChoice): Selection {
  const { config } = choice.workspace.loaded;
  const [distro = ''] = chosenDistros(config, choice.distros);
  return selectImages(choice.workspace.catalog, {
    regexes: chosenRegexes(config.sets, choice.regexes, choice.sets),
    unbuildable: config.distros[distro]?.unbuildable ?? [],
    skipParents: choice.skipParents ?? false,
  });
}

export interface RenderRequest extends ImageChoice {
  out: string;
  tag?: string;
}

/** What `images render` wrote for one distro. */
export interface RenderedDistro {
  distro: string;
  outDir: string;
  written: number;
  unwritten: UnwrittenImage[];
}

/** Every selected image's Dockerfile and build context into `<out>/<image>/` (`<out>/<distro>/<image>/` for several distros). */
export async function renderImages(request: RenderRequest): Promise<RenderedDistro[]> {
  checkOutputDir(request.out, '--out');
  const { loaded, catalog } = request.workspace;
  const distros = chosenDistros(loaded.config, request.distros);
  if (request.tag !== undefined && !isValidTag(request.tag))
    throw new UsageError(`invalid --tag ${JSON.stringify(request.tag)}`);
  const regexes = chosenRegexes(loaded.config.sets, request.regexes, request.sets);
  const now = new Date();
  const rendered: RenderedDistro[] = [];
  for (const distro of distros) {
    // Over a Kolla checkout a render is tagged as that release's kolla-build tags it.
    const tag =
      request.tag ??
      loaded.kolla?.rules.defaultTag(distro) ??
      runTag(loaded.config.release, distro, loaded.config.distros[distro]?.version ?? '', now);
    const selection = { regexes, skipParents: request.skipParents ?? false };
    const plan = await renderOnlyPlan(loaded, catalog, distro, tag, selection);
    const outDir = distros.length > 1 ? join(resolve(request.out), distro) : resolve(request.out);
    const unwritten = await writePlanContexts(plan, outDir, (image) => image.name);
    rendered.push({ distro, outDir, written: plan.images.length - unwritten.length, unwritten });
  }
  return rendered;
}

/** Each selected image's smoke checks, on the configured engine, at one tag. */
export async function testImages(
  request: ImageChoice & { tag: string },
  onResult: (result: SmokeResult) => void,
): Promise<SmokeResult[]> {
  const { loaded } = request.workspace;
  const selection = chooseImages(request);
  const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
  const results: SmokeResult[] = [];
  for (const name of selection.selected) {
    const result = await smokeTestImage(engine, name, imageReference(loaded.config, name, request.tag));
    results.push(result);
    onResult(result);
  }
  return results;
}

/** How `images list` and `images deps` print: one name a line, JSON, or kolla-build's own listing. */
export type ListingFormat = 'plain' | 'json' | 'kolla';

/** The selected images, parents before children, as `images list` prints them. */
export function imageListing(catalog: Catalog, selected: readonly string[], format: ListingFormat): string {
  switch (format) {
    case 'kolla':
      return kollaImageListing(selected);
    case 'plain':
      return selected.map((name) => `${name}\n`).join('');
    case 'json': {
      const rows = selected.map((name) => ({
        name,
        parent: catalog.images.get(name)?.parent ?? null,
        dir: catalog.images.get(name)?.dir,
      }));
      return `${JSON.stringify(rows, null, 2)}\n`;
    }
    default: {
      const never: never = format;
      return never;
    }
  }
}

/** The selected images as dependency trees, as `images deps` prints them. */
export function dependencyListing(catalog: Catalog, selected: readonly string[], format: ListingFormat): string {
  const chosen = new Set(selected);
  const roots = selectedRoots(catalog, selected);
  switch (format) {
    case 'kolla':
      return kollaDependencyListing(catalog, selected);
    case 'json':
      return `${JSON.stringify(
        roots.map((root) => dependencyJson(catalog, root, chosen)),
        null,
        2,
      )}\n`;
    case 'plain':
      return roots.map((root) => dependencyText(catalog, root, chosen)).join('');
    default: {
      const never: never = format;
      return never;
    }
  }
}
