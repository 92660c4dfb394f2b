/**
 * Kolla's `handle_repos(names, mode)` template method: turns logical repository names
 * ('ceph', 'grafana', …) into one `RUN` line that writes apt `.sources` files or dnf `.repo`
 * files, or enables/disables a distro's own dnf repositories. The names are looked up in
 * repos.yaml data whose sections are the package type, the distro and `<distro>-<arch>`,
 * later sections refining earlier ones.
 *
 * The output must equal kolla-build's byte for byte (operators diff rendered Dockerfiles),
 * so its quirks are kept: disable commands are not joined by `&&`, and a deb list whose last
 * name is a distro repository keeps the trailing ` && `.
 */
import type { ReposDialect } from '../kolla/render-rules.js';
import { handleReposByName, handleReposBySection } from './kolla-repos-older.js';
import { pythonStr, pythonTruthy } from './python-values.js';
import type { RepoInfo, ReposContext, ReposData } from './repos-data.js';

/** The first file is the base (Kolla's own repos.yaml); later ones update its sections, as kolla-build's repos_yaml does. */
export interface ReposSource {
  base: ReposData;
  overridden: ReposData | undefined;
  /** How the Kolla release in use reads the data; the current way when absent. */
  dialect?: ReposDialect;
}

export function mergeReposFiles(files: readonly ReposData[]): ReposSource {
  const [first, ...rest] = files;
  const base = first ?? {};
  if (rest.length === 0) return { base, overridden: undefined };
  const merged: ReposData = Object.fromEntries(Object.entries(base).map(([section, repos]) => [section, { ...repos }]));
  for (const file of rest) {
    for (const [section, repos] of Object.entries(file)) merged[section] = { ...(merged[section] ?? {}), ...repos };
  }
  return { base, overridden: merged };
}

const locationKeys = ['baseurl', 'metalink', 'mirrorlist', 'url'];

function reposFor(data: ReposData, context: ReposContext): Record<string, RepoInfo> {
  const distro = String(context.base_distro);
  const sections = [String(context.base_package_type), distro, `${distro}-${String(context.base_arch)}`];
  const result: Record<string, RepoInfo> = {};
  for (const section of sections) {
    for (const [name, info] of Object.entries(data[section] ?? {})) {
      const known = result[name];
      if (known === undefined) {
        result[name] = info;
        continue;
      }
      const merged: RepoInfo = { ...known, ...info };
      // A refinement that gives a location makes it a repository of its own, not the distro's.
      if (locationKeys.some((key) => key in merged)) delete merged.distro;
      result[name] = merged;
    }
  }
  return result;
}

/**
 * An override that turns a distro repository into an explicit one removes the distro's
 * .repo file it lives in; any other distro repository sharing that file would vanish silently.
 */
function refuseHalfOverriddenRepoFiles(repos: Record<string, RepoInfo>, defaults: Record<string, RepoInfo>): void {
  const overridden = Object.keys(repos).filter(
    (name) => !pythonTruthy(repos[name]?.distro) && pythonTruthy(defaults[name]?.distro),
  );
  if (overridden.length === 0) return;
  const groups = new Set(overridden.map((name) => defaults[name]?.file_group).filter(pythonTruthy));
  const stillDistro = Object.keys(repos)
    .filter(
      (name) => pythonTruthy(repos[name]?.distro) && !overridden.includes(name) && groups.has(repos[name]?.file_group),
    )
    .sort();
  if (stillDistro.length > 0) {
    throw new Error(
      `repositories ${overridden.sort().join(', ')} replace distro repositories and remove their .repo file, which ${stillDistro.join(', ')} still use from the distro; override those too in repos_yaml`,
    );
  }
}

const aptFile = (repo: string) => `/etc/apt/sources.list.d/${repo}.sources`;
const dnfFile = (repo: string) => `/etc/yum.repos.d/${repo}.repo`;

function required(info: RepoInfo, key: string, repo: string): string {
  if (!(key in info)) throw new Error(`handle_repos: repository "${repo}" has no ${key}`);
  return pythonStr(info[key]);
}

function aptSourcesCommand(repo: string, info: RepoInfo, codename: string): string {
  const key = required(info, 'gpg_key', repo);
  const signedBy = key.startsWith('/') ? key : `/etc/kolla/apt-keys/${key}`;
  const suite = required(info, 'suite', repo).split('{openstack_release_codename}').join(codename.toLowerCase());
  const lines = [
    `Uris: ${required(info, 'url', repo)}`,
    `Components: ${required(info, 'component', repo)}`,
    'Types: deb',
    `Suites: ${suite}`,
    `Signed-By: ${signedBy}`,
  ];
  if (pythonTruthy(info.trusted)) lines.push('Trusted: yes');
  if ('arch' in info) lines.push(`Architectures: ${pythonStr(info.arch)}`);
  return lines.map((line, index) => `echo '${line}' ${index === 0 ? '>' : '>>'}${aptFile(repo)}`).join(' && ');
}

function dnfRepoCommand(repo: string, info: RepoInfo): string {
  const name = required(info, 'name', repo);
  const lines = [`[${name}]`, `name=${name}`, 'enabled=1'];
  if (pythonTruthy(info.gpgcheck)) lines.push(`gpgcheck=${pythonStr(info.gpgcheck)}`);
  if (pythonTruthy(info.repo_gpgcheck)) lines.push(`repo_gpgcheck=${pythonStr(info.repo_gpgcheck)}`);
  if (!['baseurl', 'metalink', 'mirrorlist'].some((key) => key in info))
    throw new Error(`handle_repos: repository "${repo}" has no baseurl, metalink or mirrorlist`);
  if (!('gpgkey' in info)) throw new Error(`handle_repos: repository "${repo}" has no gpgkey`);
  // Several keys (or base URLs) are one per line; dnf reads continuation lines indented.
  pythonSplitLines(pythonStr(info.gpgkey)).forEach((key, index) =>
    lines.push(index === 0 ? `gpgkey=${key}` : `       ${key}`),
  );
  if ('baseurl' in info) for (const url of pythonSplitLines(pythonStr(info.baseurl))) lines.push(`baseurl=${url}`);
  else if ('metalink' in info) lines.push(`metalink=${pythonStr(info.metalink)}`);
  else lines.push(`mirrorlist=${pythonStr(info.mirrorlist)}`);
  const removeOld = `grep -rlF '[${name}]' /etc/yum.repos.d/ 2>/dev/null | xargs -r rm -f`;
  return [removeOld, ...lines.map((line, index) => `echo '${line}' ${index === 0 ? '>' : '>>'}${dnfFile(repo)}`)].join(
    ' && ',
  );
}

export function handleRepos(source: ReposSource, context: ReposContext, names: unknown, mode: unknown): string {
  if (source.dialect === 'by-name') return handleReposByName(source.base, context, names, mode);
  if (source.dialect === 'by-section') return handleReposBySection(source.base, context, names, mode);
  if (!Array.isArray(names)) throw new TypeError('handle_repos: the first argument must be a list of repository names');
  const repos = reposFor(source.overridden ?? source.base, context);
  const rpm = context.base_package_type === 'rpm';
  if (rpm && source.overridden !== undefined) refuseHalfOverriddenRepoFiles(repos, reposFor(source.base, context));
  const codename = pythonStr(context.openstack_release_codename ?? '');
  let commands = '';
  names.forEach((name: unknown, index) => {
    const repo = pythonStr(name);
    const info = Object.hasOwn(repos, repo) ? repos[repo] : undefined;
    if (info === undefined)
      throw new Error(`handle_repos: unknown repository "${repo}" for ${String(context.base_distro)}`);
    const separator = index !== names.length - 1 ? ' && ' : '';
    if (rpm) {
      if (mode === 'enable')
        commands +=
          (pythonTruthy(info.distro)
            ? `dnf config-manager --enable ${required(info, 'name', repo)} || true`
            : dnfRepoCommand(repo, info)) + separator;
      else if (mode === 'disable' && pythonTruthy(info.distro))
        commands += `dnf config-manager --disable ${required(info, 'name', repo)} || true`;
    } else if (context.base_package_type === 'deb' && mode === 'enable' && !pythonTruthy(info.distro)) {
      commands += aptSourcesCommand(repo, info, codename) + separator;
    }
  });
  return commands === '' ? '' : `RUN ${commands}`;
}

/** Python's str.splitlines: no empty last line for a trailing newline. */
function pythonSplitLines(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
