import type { RepositoryConfig } from '../config/schema.js';
import { mirrorRoutePath } from './mirror-routes.js';

/**
 * How builds reach the repositories: straight (Pulp unauthenticated and client-local, mirrors
 * as configured), or through the run's proxy: Pulp always, plain mirrors too when the proxy
 * serves this distro's mirror routes (the package cache).
 */
export type RepositoryAccess =
  | { kind: 'direct'; pulpUrl: string | undefined }
  | { kind: 'proxy'; origin: string; mirrorRoutes?: { distro: string } };

export const PULP_CONTENT_PREFIX = '/pulp/content/';

export const isPulpRepository = (repo: RepositoryConfig): boolean => repo.base_path !== undefined;

/** `/pulp/content/<base_path><version>/`: the path of one pinned snapshot. */
export function pinnedContentPath(repo: RepositoryConfig): string {
  return `${PULP_CONTENT_PREFIX}${repo.base_path ?? ''}${repo.version ?? ''}/`;
}

/** The URL a build installs from. */
export function repositoryUrl(repo: RepositoryConfig, access: RepositoryAccess): string {
  if (repo.url !== undefined) {
    if (access.kind === 'proxy' && access.mirrorRoutes !== undefined)
      return `${access.origin}${mirrorRoutePath(access.mirrorRoutes.distro, repo.name)}`;
    return repo.url.endsWith('/') ? repo.url : `${repo.url}/`;
  }
  const origin = access.kind === 'proxy' ? access.origin : stripTrailingSlash(access.pulpUrl ?? '');
  return `${origin}${pinnedContentPath(repo)}`;
}

/** What identifies a repository's content, whatever the route to it: the digest input. */
export function repositoryIdentity(repo: RepositoryConfig, pulpUrl: string | undefined): string {
  return repo.url !== undefined
    ? `url:${repo.url}`
    : `pulp:${stripTrailingSlash(pulpUrl ?? '')}${pinnedContentPath(repo)}`;
}

/** A repository's identity with its pinned version left out: the same repository at any snapshot. */
export function recipeIdentity(repo: RepositoryConfig, pulpUrl: string | undefined): string {
  return repo.url !== undefined
    ? `url:${repo.url}`
    : `pulp:${stripTrailingSlash(pulpUrl ?? '')}${PULP_CONTENT_PREFIX}${repo.base_path ?? ''}`;
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
