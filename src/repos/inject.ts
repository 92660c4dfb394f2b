import type { RepositoryConfig } from '../config/schema.js';
import { aptSourceLines } from './apt.js';
import { dnfRewriteCommands } from './dnf.js';
import { shellQuote } from './shell.js';
import { PULP_CONTENT_PREFIX, type RepositoryAccess } from './urls.js';

export interface RepositorySnippets {
  /** Runs after FROM: saves the image's own package manager configuration, points it at the mirrors. */
  setup: string;
  /** Runs last: puts the saved configuration back and fails the build if a mirror URL is left. */
  restore: string;
}

/** Where the setup step keeps the image's own package sources until the restore step puts them back. */
export const REPOSITORY_BACKUP_DIR = '/var/lib/ci-builder';

export interface SnippetRequest {
  packageType: 'deb' | 'rpm';
  distro: string;
  repositories: readonly RepositoryConfig[];
  access: RepositoryAccess;
}

export function repositorySnippets(request: SnippetRequest): RepositorySnippets {
  const commands = repositoryCommands(request);
  return { setup: run(commands.setup), restore: run(commands.restore) };
}

/**
 * The shell commands of the setup and restore steps, for a step that runs them around its own work in one
 * layer (a respin's patch layer).
 */
export function repositoryCommands(request: SnippetRequest): { setup: string[]; restore: string[] } {
  const guardNeedles = [PULP_CONTENT_PREFIX, ...(request.access.kind === 'proxy' ? [request.access.origin] : [])];
  const guard = `if grep -rqsF ${guardNeedles.map((needle) => `-e ${shellQuote(needle)}`).join(' ')} /etc/apt /etc/yum.repos.d /etc/dnf; then echo 'ci-builder: a repository mirror URL is still in the package manager configuration' >&2; exit 1; fi`;
  if (request.packageType === 'deb') {
    const backup = `${REPOSITORY_BACKUP_DIR}/apt-sources.tar`;
    const lines = aptSourceLines(request.repositories, request.access, request.distro);
    return {
      setup: [
        `mkdir -p ${REPOSITORY_BACKUP_DIR}`,
        `if [ ! -e ${backup} ]; then cd /etc/apt && tar -cf ${backup} $(ls -d sources.list sources.list.d 2>/dev/null); fi`,
        'rm -rf /etc/apt/sources.list.d/*',
        `printf '%s\\n' ${lines.map(shellQuote).join(' ')} > /etc/apt/sources.list`,
      ],
      restore: [
        'cd /etc/apt && rm -rf sources.list sources.list.d && mkdir sources.list.d',
        `tar -xf ${backup}`,
        `rm -f ${backup}`,
        `rmdir ${REPOSITORY_BACKUP_DIR} 2>/dev/null || true`,
        'rm -rf /var/lib/apt/lists/*',
        guard,
      ],
    };
  }
  const backup = `${REPOSITORY_BACKUP_DIR}/yum-repos.tar`;
  return {
    setup: [
      `mkdir -p ${REPOSITORY_BACKUP_DIR}`,
      `if [ ! -e ${backup} ]; then tar -C /etc -cf ${backup} yum.repos.d; fi`,
      ...dnfRewriteCommands(request.repositories, request.access),
    ],
    restore: [
      'rm -rf /etc/yum.repos.d',
      `tar -C /etc -xf ${backup}`,
      `rm -f ${backup}`,
      `rmdir ${REPOSITORY_BACKUP_DIR} 2>/dev/null || true`,
      '(dnf clean all >/dev/null 2>&1 || true)',
      guard,
    ],
  };
}

function run(commands: readonly string[]): string {
  return `RUN set -e; \\\n    ${commands.join('; \\\n    ')}`;
}

const fromLine = /^\s*FROM\s/i;
const userLine = /^\s*USER\s+(\S+)/i;

/** The user the final stage ends as: its last USER, else the one it inherited. */
export function finalUser(dockerfile: string, inherited: string): string {
  let user = inherited;
  for (const line of dockerfile.split('\n')) {
    if (fromLine.test(line)) user = inherited;
    const match = userLine.exec(line);
    if (match?.[1]) user = match[1];
  }
  return user;
}

const isRoot = (user: string): boolean =>
  user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:');

/**
 * Wraps an image's Dockerfile: setup after every FROM (as root, then back to the inherited
 * user), restore and leak guard at the very end (as root, then back to the image's user).
 */
export function injectRepositories(dockerfile: string, snippets: RepositorySnippets, inheritedUser: string): string {
  const asRoot = (user: string, body: string) => (isRoot(user) ? [body] : ['USER root', body, `USER ${user}`]);
  const out: string[] = [];
  for (const line of dockerfile.split('\n')) {
    out.push(line);
    if (fromLine.test(line)) out.push(...asRoot(inheritedUser, snippets.setup));
  }
  while (out.length > 0 && out[out.length - 1]?.trim() === '') out.pop();
  out.push(...asRoot(finalUser(dockerfile, inheritedUser), snippets.restore));
  return `${out.join('\n')}\n`;
}
