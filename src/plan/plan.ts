import { baseImageRecipe, planBaseImage, type BaseImage } from '../bootstrap/base-image.js';
import { selectImages, type Selection, type SelectionRequest } from '../catalog/select.js';
import type { Catalog } from '../catalog/types.js';
import type { RenderInputs } from '../config/load.js';
import type { Config, DistroConfig, RepositoryConfig } from '../config/schema.js';
import type { ContextFile, InlineContextFile, StoredContextFile } from '../render/context.js';
import type { ReposSource } from '../render/kolla-repos.js';
import { CompiledTemplates, type TemplateFiles } from '../render/memory-loader.js';
import { mergeOverrides, overrideLineOrigins } from '../render/overrides.js';
import { PATCHES_DIR } from '../render/patches.js';
import { environmentOptions, Renderer } from '../render/renderer.js';
import { templateVariables } from '../render/variables.js';
import { aptSourceLines } from '../repos/apt.js';
import { finalUser, injectRepositories, repositoryCommands, repositorySnippets } from '../repos/inject.js';
import {
  isPulpRepository,
  recipeIdentity,
  repositoryIdentity,
  repositoryUrl,
  type RepositoryAccess,
} from '../repos/urls.js';
import { UsageError } from '../util/errors.js';
import { inputDigest, normalizeRunStrings } from './digest.js';
import { fromNames } from './from-lines.js';
import { imageNamespace, imageReference } from './naming.js';

export const INPUT_DIGEST_LABEL = 'ci-builder.input-digest';
/** The input digest with the pinned snapshot versions masked: images with equal recipes differ only in packages. */
export const RECIPE_DIGEST_LABEL = 'ci-builder.recipe-digest';
/** The snapshot set an image was built or patched against: `<repository>=<version or URL>,...`. */
export const SNAPSHOT_SET_LABEL = 'ci-builder.repositories';

export interface PlannedImage {
  name: string;
  parent: string | null;
  reference: string;
  dockerfile: string;
  contextFiles: ContextFile[];
  /** Folders the build context has even when empty (a template COPYs them). */
  emptyDirs: string[];
  inputDigest: string;
  /** What the image is made of, snapshots aside: equal recipes and another snapshot set make a respin. */
  recipeDigest: string;
  /** The pinned repository versions (or mirror URLs) the image is built against. */
  snapshotSet: string;
  labels: Record<string, string>;
  /** A root image built FROM the plan's base image: it needs the base image made first. */
  fromBaseImage: boolean;
  /** Why the image cannot be built; set, it fails without building. */
  failure?: PlanFailure;
}

/** Why a planned image cannot be built, as data: the run reports it as the image's failure. */
export type PlanFailure = { kind: 'source-unavailable'; message: string };

export interface Plan {
  distro: string;
  distroVersion: string;
  tag: string;
  engine: string;
  baseImage: BaseImage;
  /** apt sources lines the base image is bootstrapped from (empty when it is not bootstrapped). */
  bootstrapMirrorLines: string[];
  /** True when builds install from Pulp or through the package cache: every image gets the repository setup and restore. */
  repositoriesInjected: boolean;
  selection: Selection;
  /** Parents before children. */
  images: PlannedImage[];
  /** Parents left out by --skip-parents: not built, but their existing image is tagged for the children. */
  skippedParents: PlannedImage[];
  /** How a respin reaches the snapshots and sets up a patch layer; absent for distros it cannot patch (rpm). */
  patching?: PatchInputs;
}

/** The apt sources a patch layer upgrades from (as builds reach them), and the commands around its upgrade. */
export interface PatchInputs {
  sources: Array<{ url: string; suites: string[]; components: string[] }>;
  setup: string[];
  restore: string[];
}

export interface PlanRequest {
  config: Config;
  catalog: Catalog;
  distro: string;
  tag: string;
  engine: string;
  selection: Omit<SelectionRequest, 'unbuildable'>;
  /** How builds reach Pulp; direct when absent. */
  repositoryAccess?: RepositoryAccess;
  /** Override files, repos.yaml, patches and sources, as the config names them; none when absent. */
  renderInputs?: Partial<RenderInputs>;
}

/** Source archives of one image, or why they could not be had. */
export type SourcesOutcome = { archives: StoredContextFile[] } | { failure: PlanFailure };

/** What one image's build context holds besides its rendered Dockerfile, read beforehand. */
export interface GatheredImage {
  /** The files of the image folder. */
  folderFiles: InlineContextFile[];
  /** Its patch series, when patches are configured. */
  patchFiles: InlineContextFile[];
  /** Its own source archives and plugin or additions bundles; absent when sources were not fetched. */
  sources?: SourcesOutcome;
}

/** Everything a plan is made of, read and fetched beforehand (gather.ts): the plan itself reads nothing. */
export interface PlanInputs {
  request: PlanRequest;
  /** Docker's spelling of the host architecture: x86_64, aarch64. */
  architecture: string;
  /** What templates see as `env`, ci-builder's own variables left out. */
  environment: Record<string, string | undefined>;
  /** ci-builder's own version, the default of `kolla_version`. */
  toolVersion: string;
  /** The build_date a Kolla release's templates get, from the clock at gathering; null when they get none. */
  buildDate?: string | null;
  templates: {
    /** Every template of the image trees by absolute path, and the links refused while reading them. */
    files: TemplateFiles;
    /** Contents of the template override files, in order. */
    overrideFiles: string[];
    /** repos.yaml data for handle_repos. */
    repos: ReposSource | undefined;
    /** Compiled code earlier runs kept, by key. */
    compiled: ReadonlyMap<string, string>;
  };
  /** The commit each image tree is at, when it is in a git checkout. */
  treeRevisions: ReadonlyMap<string, string>;
  /** Every image the plan takes (skipped parents too), by name. */
  images: ReadonlyMap<string, GatheredImage>;
  /**
   * The empty plugins-archive and additions-archive for images that ADD them without having
   * such sources; absent when sources were not fetched (then such images render without).
   */
  emptyBundles?: SourcesOutcome;
}

export interface PlanResult {
  plan: Plan;
  /** Templates compiled while planning, by key: the caller may keep them for the next run. */
  compiledTemplates: ReadonlyMap<string, string>;
}

const dockerArchitecture: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** Docker's name of a Node.js architecture (`process.arch`). */
export function dockerArchitectureOf(nodeArch: string): string {
  return dockerArchitecture[nodeArch] ?? nodeArch;
}

/** The distro's configuration; an unknown distro is bad input. */
export function plannedDistro(request: Pick<PlanRequest, 'config' | 'distro'>): DistroConfig {
  const distroConfig = request.config.distros[request.distro];
  if (distroConfig === undefined) {
    const configured = Object.keys(request.config.distros).join(', ');
    throw new UsageError(`unknown distro "${request.distro}" (configured: ${configured})`);
  }
  return distroConfig;
}

/** The images a plan takes: the selection, and every image of it parents first (skipped parents too). */
export function plannedImages(request: PlanRequest): { selection: Selection; ordered: string[] } {
  const unbuildable = plannedDistro(request).unbuildable;
  const selection = selectImages(request.catalog, { ...request.selection, unbuildable });
  // Parents skipped by --skip-parents still need digests: their children's digests include them.
  const ordered = orderParentsFirst(request.catalog, [...selection.skippedParents, ...selection.selected]);
  return { selection, ordered };
}

const BUNDLE_ARCHIVES = /\b(plugins|additions)-archive\b/;
const BUNDLE_FILES = new Set(['plugins-archive', 'additions-archive']);

/**
 * Pure: the gathered inputs in, the images to build with their Dockerfiles and input digests
 * out. No file, process, network, environment or clock is read: equal inputs, equal plans.
 */
export function planFromInputs(inputs: PlanInputs): PlanResult {
  const { request, architecture } = inputs;
  const { config, catalog, distro, tag } = request;
  const distroConfig = plannedDistro(request);
  const run = runSettings(inputs, distroConfig);
  const { selection, ordered } = plannedImages(request);
  const patchesPath = request.renderInputs?.patchesPath;
  const compiled = new CompiledTemplates(inputs.templates.compiled, environmentOptions);
  const { blocks, customizations } = config.build;
  const overrideInputs = { files: inputs.templates.overrideFiles, blocks, customizations };
  const renderer = new Renderer(catalog, {
    override: mergeOverrides(overrideInputs),
    overrideOrigins: overrideLineOrigins(overrideInputs, request.renderInputs?.templateOverrideFiles ?? []),
    repos: inputs.templates.repos,
    templates: inputs.templates.files,
    compiled,
  });
  const sharedVariables = templateVariables({
    config,
    distro,
    baseImage: run.baseImage,
    architecture,
    namespace: run.namespace,
    tag,
    toolVersion: inputs.toolVersion,
    environment: inputs.environment,
    patchesPath,
    kolla:
      request.renderInputs?.kolla === undefined
        ? undefined
        : { rules: request.renderInputs.kolla, buildDate: inputs.buildDate ?? null },
  });
  const users = new Map<string, string>();
  const digests = new Map<string, string>();
  const recipes = new Map<string, string>();
  const images: PlannedImage[] = [];
  const skippedParents: PlannedImage[] = [];
  const skipped = new Set(selection.skippedParents);
  for (const name of ordered) {
    const image = catalog.images.get(name);
    const gathered = inputs.images.get(name);
    if (image === undefined) continue;
    if (gathered === undefined) throw new Error(`internal: the files of ${name} were not gathered`);
    const rendered = renderer.render(image, { ...sharedVariables, image_name: name });
    const inheritedUser = (image.parent === null ? undefined : users.get(image.parent)) ?? 'root';
    users.set(name, finalUser(rendered, inheritedUser));
    const dockerfile = run.snippets ? injectRepositories(rendered, run.snippets, inheritedUser) : rendered;
    const bundles = BUNDLE_ARCHIVES.test(dockerfile) ? inputs.emptyBundles : undefined;
    const sources = imageSources(gathered.sources, bundles);
    const contextFiles: ContextFile[] = [...gathered.folderFiles, ...gathered.patchFiles, ...sources.files];
    const parentIdentity = image.parent === null ? baseImageIdentity(run.baseImage) : digests.get(image.parent);
    if (parentIdentity === undefined) throw new Error(`internal: parent ${image.parent} of ${name} not digested first`);
    const digest = inputDigest({
      normalizedDockerfile: normalizeRunStrings(dockerfile, run.runStrings),
      contextFiles,
      parentIdentity,
      engineOptions: run.engineOptions,
    });
    digests.set(name, digest);
    const parentRecipe = image.parent === null ? run.baseRecipe : recipes.get(image.parent);
    if (parentRecipe === undefined) throw new Error(`internal: parent ${image.parent} of ${name} has no recipe yet`);
    const recipe = inputDigest({
      normalizedDockerfile: normalizeRunStrings(dockerfile, { ...run.runStrings, ...run.snapshotStrings }),
      contextFiles,
      parentIdentity: parentRecipe,
      engineOptions: run.recipeEngineOptions,
    });
    recipes.set(name, recipe);
    const revision = inputs.treeRevisions.get(image.treeRoot);
    (skipped.has(name) ? skippedParents : images).push({
      name,
      parent: image.parent,
      reference: imageReference(config, name, tag),
      dockerfile,
      contextFiles,
      emptyDirs: patchesPath !== undefined && gathered.patchFiles.length === 0 ? [PATCHES_DIR] : [],
      inputDigest: digest,
      recipeDigest: recipe,
      snapshotSet: run.repositoryLabel,
      fromBaseImage: image.parent === null && fromNames(dockerfile, run.baseImage.reference),
      ...(sources.failure !== undefined ? { failure: sources.failure } : {}),
      labels: {
        [INPUT_DIGEST_LABEL]: digest,
        [RECIPE_DIGEST_LABEL]: recipe,
        'org.opencontainers.image.title': `${config.image_prefix}${name}`,
        'ci-builder.distro': `${distro}-${distroConfig.version}`,
        'ci-builder.release': config.release,
        ...(run.repositoryLabel ? { [SNAPSHOT_SET_LABEL]: run.repositoryLabel } : {}),
        ...(config.image_source ? { 'org.opencontainers.image.source': config.image_source } : {}),
        ...(revision ? { 'org.opencontainers.image.revision': revision } : {}),
      },
    });
  }
  const plan: Plan = {
    distro,
    distroVersion: distroConfig.version,
    tag,
    engine: request.engine,
    baseImage: run.baseImage,
    bootstrapMirrorLines:
      run.baseImage.kind === 'bootstrap' ? aptSourceLines(distroConfig.repositories, run.access, distro) : [],
    repositoriesInjected: run.snippets !== undefined,
    selection,
    images,
    skippedParents,
    ...(distroConfig.package_type === 'deb' ? { patching: patchInputs(distro, distroConfig, run.access) } : {}),
  };
  return { plan, compiledTemplates: compiled.added };
}

function patchInputs(distro: string, distroConfig: DistroConfig, access: RepositoryAccess): PatchInputs {
  const { repositories } = distroConfig;
  return {
    sources: repositories.map((repo) => ({
      url: repositoryUrl(repo, access),
      suites: repo.suites ?? [],
      components: repo.components,
    })),
    ...repositoryCommands({ packageType: 'deb', distro, repositories, access }),
  };
}

/** What is the same for every image of the run. */
function runSettings(inputs: PlanInputs, distroConfig: DistroConfig) {
  const { config, distro, tag } = inputs.request;
  const { architecture } = inputs;
  const namespace = imageNamespace(config);
  const pulpUrl = config.pulp?.url;
  const access: RepositoryAccess = inputs.request.repositoryAccess ?? { kind: 'direct', pulpUrl };
  const { repositories } = distroConfig;
  const mirrorsProxied = access.kind === 'proxy' && access.mirrorRoutes !== undefined && repositories.length > 0;
  const snippets =
    repositories.some(isPulpRepository) || mirrorsProxied
      ? repositorySnippets({ packageType: distroConfig.package_type, distro, repositories, access })
      : undefined;
  // The proxy's address changes every run; the pinned repositories behind it are what counts.
  const runStrings: Record<string, string> = {
    [tag]: '@@TAG@@',
    [namespace]: '@@NAMESPACE@@',
    ...(access.kind === 'proxy' ? { [access.origin]: '@@PROXY@@' } : {}),
  };
  const pinned = (identity: (repo: RepositoryConfig) => string) =>
    JSON.stringify(
      repositories.map((repo) => [
        identity(repo),
        repo.suites ?? [],
        repo.components,
        repo.repo_file ?? '',
        repo.section ?? '',
      ]),
    );
  const engineOptions = { engine: inputs.request.engine, network: 'host', architecture };
  const baseImage = planBaseImage(distro, distroConfig, architecture, pulpUrl);
  return {
    namespace,
    access,
    baseImage,
    snippets,
    runStrings,
    // A pinned snapshot's path, `<base_path><version>/`, with its version masked: the recipe's view of it. A
    // bootstrapped base image's reference names its digest, which the snapshot versions are part of: its recipe
    // (baseRecipe, the parent identity of root images' recipes) stands for it.
    snapshotStrings: {
      ...Object.fromEntries(
        repositories
          .filter(isPulpRepository)
          .map((repo) => [`${repo.base_path ?? ''}${repo.version ?? ''}/`, `${repo.base_path ?? ''}@@SNAPSHOT@@/`]),
      ),
      ...(baseImage.kind === 'bootstrap' ? { [baseImage.reference]: '@@BASE_IMAGE@@' } : {}),
    },
    baseRecipe: baseImageRecipe(distro, distroConfig, architecture, pulpUrl),
    repositoryLabel: repositories.map((repo) => `${repo.name}=${repo.version ?? repo.url ?? ''}`).join(','),
    engineOptions: { ...engineOptions, repositories: pinned((repo) => repositoryIdentity(repo, pulpUrl)) },
    recipeEngineOptions: { ...engineOptions, repositories: pinned((repo) => recipeIdentity(repo, pulpUrl)) },
  };
}

/**
 * The image's source archives in its build context: its own, and the plugin and additions
 * bundles; a template that ADDs plugins-archive or additions-archive gets them even when it
 * has no such sources (empty), as with kolla-build.
 */
function imageSources(
  own: SourcesOutcome | undefined,
  emptyBundles: SourcesOutcome | undefined,
): { files: StoredContextFile[]; failure?: PlanFailure } {
  if (own !== undefined && 'failure' in own) return { files: [], failure: own.failure };
  const files = own?.archives ?? [];
  if (emptyBundles === undefined || files.some((file) => BUNDLE_FILES.has(file.path))) return { files };
  if ('failure' in emptyBundles) return { files: [], failure: emptyBundles.failure };
  return { files: [...files, ...emptyBundles.archives] };
}

function baseImageIdentity(base: BaseImage): string {
  return base.kind === 'bootstrap' ? `bootstrap:${base.digest}` : `image:${base.reference}`;
}

function orderParentsFirst(catalog: Catalog, names: readonly string[]): string[] {
  const parentOf = (name: string) => catalog.images.get(name)?.parent ?? null;
  const depth = (name: string): number => {
    let count = 0;
    for (let parent = parentOf(name); parent !== null; parent = parentOf(parent)) count++;
    return count;
  };
  return [...names].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}
