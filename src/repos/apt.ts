import type { RepositoryConfig } from '../config/schema.js';
import { repositoryUrl, type RepositoryAccess } from './urls.js';

/**
 * apt sources lines for the repositories. Ubuntu through the proxy is marked trusted: its
 * cloud-archive keyrings are not installed when the base image starts (the operators' rule).
 */
export function aptSourceLines(repos: readonly RepositoryConfig[], access: RepositoryAccess, distro: string): string[] {
  return repos.flatMap((repo) => {
    const trusted = repo.trusted || (distro === 'ubuntu' && access.kind === 'proxy' && repo.base_path !== undefined);
    const options = trusted ? '[trusted=yes] ' : '';
    return (repo.suites ?? []).map(
      (suite) => `deb ${options}${repositoryUrl(repo, access)} ${suite} ${repo.components.join(' ')}`,
    );
  });
}
