import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { arch } from 'node:process';
import { planBaseImage, type BaseImage } from '../bootstrap/base-image.js';
import { selectImages, type Selection, type SelectionRequest } from '../catalog/select.js';
import type { Catalog } from '../catalog/types.js';
import type { RenderInputs } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { readContextFiles, type ContextFile, type StoredContextFile } from '../render/context.js';
import { imagePatchFiles, PATCHES_DIR } from '../render/patches.js';
import { prepareImageSources } from '../sources/prepare.js';
import { SourceError, type SourceDefinition } from '../sources/types.js';
import { cacheDir } from '../util/cache-dir.js';
import { mergeOverrides } from '../render/overrides.js';
import { Renderer } from '../render/renderer.js';
import { aptSourceLines } from '../repos/apt.js';
import { finalUser, injectRepositories, repositorySnippets } from '../repos/inject.js';
import { isPulpRepository, repositoryIdentity, type RepositoryAccess } from '../repos/urls.js';
import { loadReposSource } from '../render/repos-files.js';
import { templateEnvironment } from '../render/template-environment.js';
import { templateVariables } from '../render/variables.js';
import { UsageError } from '../util/errors.js';
import { Limiter } from '../util/limiter.js';
import { inputDigest, normalizeRunStrings } from './digest.js';
import { fromNames } from './from-lines.js';
import { imageNamespace, imageReference } from './naming.js';

export const INPUT_DIGEST_LABEL = 'ci-builder.input-digest';

const toolVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface PlannedImage {
  name: string;
  parent: string | null;
  reference: string;
  dockerfile: string;
  contextFiles: ContextFile[];
  /** Folders the build context has even when empty (a template COPYs them). */
  emptyDirs: string[];
  inputDigest: string;
  labels: Record<string, string>;
  /** A root image built FROM the plan's base image: it needs the base image made first. */
  fromBaseImage: boolean;
  /** Why the image cannot be built (a source that could not be fetched); set, it fails without building. */
  failure?: string;
}

export interface Plan {
  distro: string;
  distroVersion: string;
  tag: string;
  engine: string;
  baseImage: BaseImage;
  /** apt sources lines the base image is bootstrapped from (empty when it is not bootstrapped). */
  bootstrapMirrorLines: string[];
  /** True when builds install from Pulp, so every image gets the repository setup and restore. */
  repositoriesInjected: boolean;
  selection: Selection;
  /** Parents before children. */
  images: PlannedImage[];
  /** Parents left out by --skip-parents: not built, but their existing image is tagged for the children. */
  skippedParents: PlannedImage[];
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
  /** Where fetched sources are kept; default: the host cache. */
  cacheDir?: string;
  signal?: AbortSignal;
}

const SOURCE_FETCHES_AT_ONCE = 4;

const dockerArchitecture: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ppc64: 'ppc64le', s390x: 's390x' };

/** Pure: config and files in, the images to build with their Dockerfiles and input digests out. */
export async function makePlan(request: PlanRequest): Promise<Plan> {
  const { config, catalog, distro, tag } = request;
  const distroConfig = config.distros[distro];
  if (distroConfig === undefined) throw new UsageError(`unknown distro "${distro}" (configured: ${Object.keys(config.distros).join(', ')})`);
  const architecture = dockerArchitecture[arch] ?? arch;
  const namespace = imageNamespace(config);
  const pulpUrl = config.pulp?.url;
  const access: RepositoryAccess = request.repositoryAccess ?? { kind: 'direct', pulpUrl };
  const baseImage = planBaseImage(distro, distroConfig, architecture, pulpUrl);
  const injected = distroConfig.repositories.some(isPulpRepository);
  const snippets = injected ? repositorySnippets({ packageType: distroConfig.package_type, distro, repositories: distroConfig.repositories, access }) : undefined;
  // The proxy's address changes every run; the pinned repositories behind it are what counts.
  const runStrings: Record<string, string> = { [tag]: '@@TAG@@', [namespace]: '@@NAMESPACE@@', ...(access.kind === 'proxy' ? { [access.origin]: '@@PROXY@@' } : {}) };
  const repositoryLabel = distroConfig.repositories.map((repo) => `${repo.name}=${repo.version ?? repo.url ?? ''}`).join(',');
  const selection = selectImages(catalog, { ...request.selection, unbuildable: distroConfig.unbuildable });
  const inputs = request.renderInputs ?? {};
  const overrideFiles = await Promise.all((inputs.templateOverrideFiles ?? []).map((file) => readFile(file, 'utf8').catch(() => {
    throw new UsageError(`${file}: template override file not found`);
  })));
  const renderer = new Renderer(catalog, {
    override: mergeOverrides({ files: overrideFiles, blocks: config.build.blocks, customizations: config.build.customizations }),
    repos: loadReposSource(inputs.reposYamlFiles ?? [], catalog.trees),
    compiledTemplatesDir: join(request.cacheDir ?? cacheDir(), 'templates'),
  });
  const sharedVariables = templateVariables({ config, distro, baseImage, architecture, namespace, tag, toolVersion, environment: templateEnvironment(process.env), patchesPath: inputs.patchesPath });
  const engineOptions = {
    engine: request.engine,
    network: 'host',
    architecture,
    repositories: JSON.stringify(distroConfig.repositories.map((repo) => [repositoryIdentity(repo, pulpUrl), repo.suites ?? [], repo.components, repo.repo_file ?? '', repo.section ?? ''])),
  };
  const users = new Map<string, string>();
  const revisions = new Map(catalog.trees.map((tree) => [tree, treeRevision(tree)]));

  const digests = new Map<string, string>();
  const images: PlannedImage[] = [];
  const skippedParents: PlannedImage[] = [];
  const skipped = new Set(selection.skippedParents);
  // Parents skipped by --skip-parents still need digests: their children's digests include them.
  const ordered = orderParentsFirst(catalog, [...selection.skippedParents, ...selection.selected]);
  // Reading image folders does not depend on parents: all at once, while rendering goes in order.
  const folderFiles = new Map(ordered.map((name) => [name, readContextFiles(catalog.images.get(name)?.dir ?? '')]));
  for (const promise of folderFiles.values()) promise.catch(() => undefined);
  // Sources are fetched (downloads, git) a few at a time while rendering goes on in order.
  const fetches = new Limiter(SOURCE_FETCHES_AT_ONCE);
  const renderedImages = ordered.flatMap((name) => {
    const image = catalog.images.get(name);
    if (image === undefined) return [];
    const variables = { ...sharedVariables, image_name: name };
    const rendered = renderer.render(image, variables);
    const inheritedUser = (image.parent === null ? undefined : users.get(image.parent)) ?? 'root';
    users.set(name, finalUser(rendered, inheritedUser));
    const dockerfile = snippets ? injectRepositories(rendered, snippets, inheritedUser) : rendered;
    return [{ name, image, dockerfile, sources: fetches.add(() => imageSources(request, inputs.sources ?? {}, name, dockerfile, variables.debian_arch)) }];
  });
  for (const { name, image, dockerfile, sources: fetching } of renderedImages) {
    const sources = await fetching;
    const patches = inputs.patchesPath === undefined ? [] : imagePatchFiles(inputs.patchesPath, name);
    const contextFiles: ContextFile[] = [...((await folderFiles.get(name)) ?? []), ...patches, ...sources.files];
    const parentIdentity = image.parent === null ? baseImageIdentity(baseImage) : digests.get(image.parent);
    if (parentIdentity === undefined) throw new Error(`internal: parent ${image.parent} of ${name} was not digested first`);
    const digest = inputDigest({
      normalizedDockerfile: normalizeRunStrings(dockerfile, runStrings),
      contextFiles,
      parentIdentity,
      engineOptions,
    });
    digests.set(name, digest);
    (skipped.has(name) ? skippedParents : images).push({
      name,
      parent: image.parent,
      reference: imageReference(config, name, tag),
      dockerfile,
      contextFiles,
      emptyDirs: inputs.patchesPath !== undefined && patches.length === 0 ? [PATCHES_DIR] : [],
      inputDigest: digest,
      fromBaseImage: image.parent === null && fromNames(dockerfile, baseImage.reference),
      ...(sources.failure !== undefined ? { failure: sources.failure } : {}),
      labels: {
        [INPUT_DIGEST_LABEL]: digest,
        'org.opencontainers.image.title': `${config.image_prefix}${name}`,
        'ci-builder.distro': `${distro}-${distroConfig.version}`,
        'ci-builder.release': config.release,
        ...(repositoryLabel ? { 'ci-builder.repositories': repositoryLabel } : {}),
        ...(config.image_source ? { 'org.opencontainers.image.source': config.image_source } : {}),
        ...(revisions.get(image.treeRoot) ? { 'org.opencontainers.image.revision': revisions.get(image.treeRoot) ?? '' } : {}),
      },
    });
  }
  const bootstrapMirrorLines = baseImage.kind === 'bootstrap' ? aptSourceLines(distroConfig.repositories, access, distro) : [];
  return { distro, distroVersion: distroConfig.version, tag, engine: request.engine, baseImage, bootstrapMirrorLines, repositoriesInjected: injected, selection, images, skippedParents };
}

/**
 * The image's source archives, fetched into the host cache: their identity is part of the
 * input digest, so they are resolved while planning (a git branch names a commit only then).
 * Templates that ADD plugins-archive or additions-archive get them even when empty, as with kolla-build.
 */
async function imageSources(request: PlanRequest, sections: Readonly<Record<string, SourceDefinition>>, image: string, dockerfile: string, debianArch: string): Promise<{ files: StoredContextFile[]; failure?: string }> {
  try {
    const archives = await prepareImageSources({
      image,
      sections,
      debianArch,
      cacheDir: request.cacheDir ?? cacheDir(),
      withPluginArchives: /\b(plugins|additions)-archive\b/.test(dockerfile),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    return { files: archives.map((archive) => ({ path: archive.path, executable: false, file: archive.file, identity: archive.identity })) };
  } catch (error) {
    if (error instanceof SourceError) return { files: [], failure: `source ${error.message}` };
    throw error;
  }
}

/** The commit the image tree is at, when it is in a git checkout. */
function treeRevision(tree: string): string | undefined {
  try {
    return execFileSync('git', ['-C', tree, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function baseImageIdentity(base: BaseImage): string {
  return base.kind === 'bootstrap' ? `bootstrap:${base.digest}` : `image:${base.reference}`;
}

function orderParentsFirst(catalog: Catalog, names: readonly string[]): string[] {
  const depth = (name: string): number => {
    let count = 0;
    for (let parent = catalog.images.get(name)?.parent ?? null; parent !== null; parent = catalog.images.get(parent)?.parent ?? null) count++;
    return count;
  };
  return [...names].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}
