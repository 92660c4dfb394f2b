/** repos.yaml as the template method handle_repos reads it, in every release's dialect. */

export type RepoInfo = Record<string, unknown>;
/** repos.yaml: section ('deb', 'debian', 'debian-aarch64', 'rpm', 'rocky', …) → name → info. */
export type ReposData = Record<string, Record<string, RepoInfo>>;

/** The template values handle_repos reads from the context it is called in. */
export interface ReposContext {
  base_package_type?: unknown;
  base_distro?: unknown;
  base_arch?: unknown;
  openstack_release_codename?: unknown;
}
