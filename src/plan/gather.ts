import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { arch, env } from 'node:process';
import { readContextFiles } from '../render/context.js';
import {
  leadingText,
  mergeOverrides,
  OVERRIDE_LEADING_TEMPLATE_NAME,
  OVERRIDE_TEMPLATE_NAME,
} from '../render/overrides.js';
import { readOverrideFile } from '../render/override-file.js';
import { imagePatchFiles } from '../render/patches.js';
import { loadKollaReposSource, loadReposSource } from '../render/repos-files.js';
import { strftime } from '../kolla/render-rules.js';
import { templateEnvironment } from '../render/template-environment.js';
import { readCompiledTemplates, readTemplateFiles } from '../render/template-files.js';
import { debianArchitectureOf } from '../render/variables.js';
import { prepareEmptyBundles, prepareImageSources } from '../sources/prepare.js';
import { SourceError, type PreparedArchive } from '../sources/types.js';
import { Limiter } from '../util/limiter.js';
import { readGitHistory, repositoryAbove } from '../util/read-git.js';
import { dockerArchitectureOf, plannedDistro, plannedImages } from './plan.js';
import type { GatheredImage, PlanInputs, PlanRequest, SourcesOutcome } from './plan.js';

export interface GatherRequest extends PlanRequest {
  /** Where fetched sources and compiled templates are kept. */
  cacheDir: string;
  /**
   * Fetch the images' sources (downloads, git) into the cache: a build needs them; a render,
   * like kolla-build's --template-only, does without.
   */
  fetchSources: boolean;
  signal?: AbortSignal;
}

const SOURCE_FETCHES_AT_ONCE = 4;

const packageJsonFile = new URL('../../package.json', import.meta.url);
const toolVersion = (JSON.parse(readFileSync(packageJsonFile, 'utf8')) as { version: string }).version;

/** Where compiled templates are kept between runs. */
export function compiledTemplatesDir(cacheDir: string): string {
  return join(cacheDir, 'templates');
}

/**
 * Everything a plan needs from outside: the image folders' files, the templates and what they
 * read (overrides, repos.yaml), patches, the trees' git revisions, the environment, the compiled
 * templates kept by earlier runs and, when asked, the sources fetched into the cache.
 */
export async function gatherPlanInputs(request: GatherRequest): Promise<PlanInputs> {
  // The plan gets what to plan, not how to gather it.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the gathering fields are taken out, not used
  const { cacheDir: _cacheDir, fetchSources: _fetchSources, signal: _signal, ...planRequest } = request;
  const { catalog, config } = request;
  const { ordered } = plannedImages(request);
  const inputs = request.renderInputs ?? {};
  const architecture = dockerArchitectureOf(arch);
  // What does not depend on anything else is read at once, the sources fetched meanwhile.
  const overrideFiles = Promise.all((inputs.templateOverrideFiles ?? []).map(readOverrideFile));
  const folderFiles = Promise.all(
    ordered.map((name) => {
      const image = catalog.images.get(name);
      if (image === undefined) throw new Error(`internal: ${name} is not in the catalog`);
      return readContextFiles(image);
    }),
  );
  const revisions = Promise.resolve().then(() => catalog.trees.map(treeRevision));
  const sources = request.fetchSources ? fetchSources(request, ordered, debianArchitectureOf(architecture)) : undefined;
  // Each is awaited below; an early failure of one must not go unhandled while another is awaited.
  for (const pending of [overrideFiles, folderFiles, revisions, sources]) {
    pending?.catch(() => undefined);
  }

  const kolla = inputs.kolla;
  const repos =
    kolla === undefined
      ? loadReposSource(inputs.reposYamlFiles ?? [], catalog.trees)
      : loadKollaReposSource(kolla, inputs.reposYamlFiles ?? [], request.distro, plannedDistro(request).version);
  const files = readTemplateFiles(catalog.trees);
  const { patchesPath } = inputs;
  const overrides = await overrideFiles;
  const { blocks, customizations } = config.build;
  const override = mergeOverrides({ files: overrides, blocks, customizations });
  const overrideTemplates =
    override === undefined
      ? []
      : ([
          [OVERRIDE_TEMPLATE_NAME, override],
          [OVERRIDE_LEADING_TEMPLATE_NAME, leadingText(override)],
        ] as const);
  const templates = [...files.texts, ...overrideTemplates];
  const compiled = readCompiledTemplates(compiledTemplatesDir(request.cacheDir), templates);
  const folders = await folderFiles;
  const fetched = await sources;
  const images = new Map<string, GatheredImage>();
  ordered.forEach((name, index) => {
    const own = fetched?.images.get(name);
    const patchFiles = patchesPath === undefined ? [] : imagePatchFiles(patchesPath, name);
    images.set(name, { folderFiles: folders[index] ?? [], patchFiles, ...(own ? { sources: own } : {}) });
  });
  const treeRevisions = new Map<string, string>();
  (await revisions).forEach((revision, index) => {
    const tree = catalog.trees[index];
    if (revision !== undefined && tree !== undefined) treeRevisions.set(tree, revision);
  });
  return {
    request: planRequest,
    architecture,
    environment: templateEnvironment(env),
    toolVersion,
    buildDate: kolla?.buildDateFormat == null ? null : strftime(kolla.buildDateFormat, new Date()),
    templates: { files, overrideFiles: overrides, repos, compiled },
    treeRevisions,
    images,
    ...(fetched ? { emptyBundles: fetched.emptyBundles } : {}),
  };
}

interface FetchedSources {
  images: Map<string, SourcesOutcome>;
  emptyBundles: SourcesOutcome;
}

/**
 * Every image's sources, fetched into the cache a few at a time: their identity is part of the
 * input digest (a git branch names a commit only then). The empty plugin and additions bundles
 * are made once, for whichever images' templates turn out to ADD them.
 */
async function fetchSources(
  request: GatherRequest,
  images: readonly string[],
  debianArch: string,
): Promise<FetchedSources> {
  const sections = request.renderInputs?.sources ?? {};
  const { cacheDir } = request;
  const fetches = new Limiter(SOURCE_FETCHES_AT_ONCE);
  const signal = request.signal ? { signal: request.signal } : {};
  const timeoutMs = request.config.build.source_timeout * 1000;
  const prepare = (image: string) =>
    prepareImageSources({ image, sections, debianArch, cacheDir, timeoutMs, withPluginArchives: false, ...signal });
  const [outcomes, emptyBundles] = await Promise.all([
    Promise.all(images.map((image) => fetches.add(() => outcomeOf(prepare(image))))),
    outcomeOf(prepareEmptyBundles(cacheDir)),
  ]);
  return { images: new Map(images.map((image, index) => [image, outcomes[index] ?? { archives: [] }])), emptyBundles };
}

/** A source that cannot be had fails only the images that need it; any other error is not about sources. */
async function outcomeOf(preparing: Promise<PreparedArchive[]>): Promise<SourcesOutcome> {
  try {
    const archives = await preparing;
    return { archives: archives.map(({ path, file, identity }) => ({ path, executable: false, file, identity })) };
  } catch (error) {
    if (error instanceof SourceError) {
      return { failure: { kind: 'source-unavailable', message: `source ${error.message}` } };
    }
    throw error;
  }
}

/** The commit the image tree is at, when it is in a git checkout (whose git config is never read). */
function treeRevision(tree: string): string | undefined {
  const repository = repositoryAbove(tree);
  if (repository === null) return undefined;
  return readGitHistory(repository, (git) => git(['rev-parse', 'HEAD']) || undefined);
}
