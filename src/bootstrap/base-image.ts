import type { BootstrapSource, DistroConfig, RepositoryConfig } from '../config/schema.js';
import { recipeIdentity, repositoryIdentity } from '../repos/urls.js';
import { sha256Hex } from '../util/hash.js';

/** Where a distro's root images start from. */
export type BaseImage =
  | {
      kind: 'bootstrap';
      distro: string;
      suite: string;
      source: BootstrapSource;
      digest: string;
      repository: string;
      tag: string;
      reference: string;
    }
  | { kind: 'image'; repository: string; tag: string; reference: string };

export const BOOTSTRAP_REPOSITORY_PREFIX = 'localhost/ci-builder/bootstrap-';

/**
 * Pure: the base image a distro's root images name in FROM, keyed by everything that shapes
 * its root filesystem: the pinned repositories (not the route to them), suite, variant, packages.
 */
export function planBaseImage(
  distro: string,
  config: DistroConfig,
  architecture: string,
  pulpUrl: string | undefined,
): BaseImage {
  const source = config.base_image;
  if ('image' in source)
    return { kind: 'image', repository: source.image, tag: source.tag, reference: `${source.image}:${source.tag}` };
  const suite = source.suite ?? config.version;
  const digest = bootstrapDigest(source, suite, architecture, config, (repo) => repositoryIdentity(repo, pulpUrl));
  const repository = `${BOOTSTRAP_REPOSITORY_PREFIX}${distro}`;
  const tag = `${config.version}-${digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
  return { kind: 'bootstrap', distro, suite, source, digest, repository, tag, reference: `${repository}:${tag}` };
}

/**
 * The base image as a recipe: what shapes its root filesystem with the pinned versions left out, so a root
 * image's recipe stays the same when only the snapshots move.
 */
export function baseImageRecipe(
  distro: string,
  config: DistroConfig,
  architecture: string,
  pulpUrl: string | undefined,
): string {
  const source = config.base_image;
  if ('image' in source) return `image:${source.image}:${source.tag}`;
  const suite = source.suite ?? config.version;
  const recipe = bootstrapDigest(source, suite, architecture, config, (repo) => recipeIdentity(repo, pulpUrl));
  return `bootstrap-recipe:${distro}:${recipe}`;
}

function bootstrapDigest(
  source: BootstrapSource,
  suite: string,
  architecture: string,
  config: DistroConfig,
  identity: (repo: RepositoryConfig) => string,
): string {
  const repositories = config.repositories.map((repo) => ({
    id: identity(repo),
    suites: repo.suites,
    components: repo.components,
  }));
  const inputs = {
    tool: 'mmdebstrap',
    suite,
    architecture,
    repositories,
    variant: source.variant,
    include: [...source.include].sort(),
    sources: source.sources,
  };
  return `sha256:${sha256Hex(JSON.stringify(inputs))}`;
}
