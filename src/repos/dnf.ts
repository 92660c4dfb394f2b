import type { RepositoryConfig } from '../config/schema.js';
import { shellQuote } from './shell.js';
import { repositoryUrl, type RepositoryAccess } from './urls.js';

/**
 * A sed command per repository that points an existing `[section]` of its .repo file at
 * the mirror: mirrorlist, metalink and baseurl are commented out and a baseurl added after name.
 */
export function dnfRewriteCommands(repos: readonly RepositoryConfig[], access: RepositoryAccess): string[] {
  return repos
    .filter((repo) => repo.repo_file !== undefined && repo.section !== undefined)
    .map((repo) => {
      const section = (repo.section ?? '').replace(/[\][\\/.*^$]/g, '\\$&');
      const url = repositoryUrl(repo, access).replace(/[\\&|]/g, '\\$&');
      const script = [
        `/^\\[${section}\\]$/,/^\\[/{`,
        's/^\\(mirrorlist\\|metalink\\|baseurl\\)=/#\\1=/',
        `/^name=/a baseurl=${url}`,
        '}',
      ];
      return `sed -i ${script.map((part) => `-e ${shellQuote(part)}`).join(' ')} /etc/yum.repos.d/${repo.repo_file}`;
    });
}
