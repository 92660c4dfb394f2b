/**
 * handle_repos as older Kolla releases write it, byte for byte: `by-name` (2024.1, 2025.1) and
 * `by-section` (2025.2, 2026.1). Their quirks are kept: by-name skips a repository it cannot find or
 * whose deb entry lacks a key (keeping what it already wrote for it), prefixes rpm switches with a
 * space, and cuts the last ` && ` of a deb list; by-section adds a distro repository's base URL lines
 * after its enable command and separates disable commands by nothing.
 */
import type { ReposContext, ReposData, RepoInfo } from './repos-data.js';
import { pythonStr, pythonTruthy } from './python-values.js';

const aptFile = (repo: string) => `/etc/apt/sources.list.d/${repo}.sources`;
const dnfFile = (repo: string) => `/etc/yum.repos.d/${repo}.repo`;

class MissingKey extends Error {}

function key(info: unknown, name: string): unknown {
  if (typeof info !== 'object' || info === null || !Object.hasOwn(info, name)) throw new MissingKey(name);
  return (info as Record<string, unknown>)[name];
}

function aptLines(repo: string, info: unknown): string {
  const lines = [
    `Uris: ${pythonStr(key(info, 'url'))}`,
    `Components: ${pythonStr(key(info, 'component'))}`,
    'Types: deb',
    `Suites: ${pythonStr(key(info, 'suite'))}`,
    `Signed-By: /etc/kolla/apt-keys/${pythonStr(key(info, 'gpg_key'))}`,
  ];
  return lines.map((line, index) => `echo '${line}' ${index === 0 ? '>' : '>>'}${aptFile(repo)}`).join(' && ');
}

/** repos.yaml of the by-name releases: sections of names → a repository name (rpm) or a mapping (deb). */
export type NamedReposData = Record<string, Record<string, unknown> | undefined>;

export function handleReposByName(data: NamedReposData, context: ReposContext, names: unknown, mode: unknown): string {
  if (mode !== 'enable' && mode !== 'disable') throw new Error(`handle_repos: unknown mode ${pythonStr(mode)}`);
  if (!Array.isArray(names)) throw new TypeError('handle_repos: the first argument must be a list of repository names');
  const distro = pythonStr(context.base_distro);
  const list = data[`${distro}-${pythonStr(context.base_arch)}`] ?? data[distro];
  if (list === undefined) throw new Error(`handle_repos: repos.yaml has no section ${distro}`);
  const rpm = context.base_package_type === 'rpm';
  let commands = '';
  for (const name of names) {
    const repo = pythonStr(name);
    try {
      if (rpm) {
        commands += ` --${mode} ${pythonStr(key(list, repo))}`;
      } else if (context.base_package_type === 'deb' && mode === 'enable') {
        const info = key(list, repo);
        commands += `${aptLines(repo, info)} && `;
        const arch = key(info, 'arch');
        if (pythonTruthy(arch)) commands += `echo 'Architectures: ${pythonStr(arch)}' >>${aptFile(repo)} && `;
      }
    } catch (error) {
      if (!(error instanceof MissingKey)) throw error;
    }
  }
  if (rpm && commands !== '') commands = `dnf config-manager ${commands} || true`;
  else if (context.base_package_type === 'deb') commands = commands.slice(0, -4);
  return commands === '' ? '' : `RUN ${commands}`;
}

function lines(text: unknown): string[] {
  const all = pythonStr(text).split(/\r\n|\n|\r/);
  if (all[all.length - 1] === '') all.pop();
  return all;
}

function dnfCommand(repo: string, info: RepoInfo): string {
  let command = '';
  if (!pythonTruthy(info.distro)) {
    const name = pythonStr(key(info, 'name'));
    command = [`[${name}]`, `name=${name}`, 'enabled=1']
      .map((line, index) => `echo '${line}' ${index === 0 ? '>' : '>>'}${dnfFile(repo)}`)
      .join(' && ');
    if (pythonTruthy(info.gpgcheck)) command += ` && echo 'gpgcheck=${pythonStr(info.gpgcheck)}' >>${dnfFile(repo)}`;
    if (pythonTruthy(info.repo_gpgcheck))
      command += ` && echo 'repo_gpgcheck=${pythonStr(info.repo_gpgcheck)}' >>${dnfFile(repo)}`;
    lines(key(info, 'gpgkey')).forEach((gpgkey, index) => {
      command += ` && echo '${index === 0 ? 'gpgkey=' : '       '}${gpgkey}' >>${dnfFile(repo)}`;
    });
  } else {
    command = `dnf config-manager --enable ${pythonStr(key(info, 'name'))} || true`;
  }
  if ('baseurl' in info)
    for (const url of lines(info.baseurl)) command += ` && echo 'baseurl=${url}' >>${dnfFile(repo)}`;
  else if ('metalink' in info) command += ` && echo 'metalink=${pythonStr(info.metalink)}' >>${dnfFile(repo)}`;
  else if ('mirrorlist' in info) command += ` && echo 'mirrorlist=${pythonStr(info.mirrorlist)}' >>${dnfFile(repo)}`;
  return command;
}

export function handleReposBySection(data: ReposData, context: ReposContext, names: unknown, mode: unknown): string {
  if (!Array.isArray(names)) throw new TypeError('handle_repos: the first argument must be a list of repository names');
  const distro = pythonStr(context.base_distro);
  const list: Record<string, RepoInfo> = {
    ...data[pythonStr(context.base_package_type)],
    ...data[distro],
    ...data[`${distro}-${pythonStr(context.base_arch)}`],
  };
  let commands = '';
  names.forEach((name: unknown, index) => {
    const repo = pythonStr(name);
    const separator = index !== names.length - 1 ? ' && ' : '';
    try {
      const info = Object.hasOwn(list, repo) ? list[repo] : undefined;
      if (info === undefined) throw new MissingKey(repo);
      if (context.base_package_type === 'rpm') {
        if (mode === 'enable') commands += dnfCommand(repo, info) + separator;
        else if (mode === 'disable' && pythonTruthy(info.distro))
          commands += `dnf config-manager --disable ${pythonStr(key(info, 'name'))} || true`;
      } else if (context.base_package_type === 'deb' && mode === 'enable') {
        commands += aptLines(repo, info);
        if ('arch' in info) commands += ` && echo 'Architectures: ${pythonStr(info.arch)}' >>${aptFile(repo)}`;
        commands += separator;
      }
    } catch (error) {
      if (error instanceof MissingKey) {
        throw new Error(`handle_repos: repository "${repo}" for ${distro}: no ${error.message}`, { cause: error });
      }
      throw error;
    }
  });
  return commands === '' ? '' : `RUN ${commands}`;
}
