import type { Config } from '../config/schema.js';
import type { KollaRenderRules } from '../kolla/render-rules.js';

/** The template variables Kolla's Dockerfile.j2 files read that are the same for every image of a run. */
export interface RunTemplateVariables {
  base_distro: string;
  base_distro_tag: string;
  base_image: string;
  base_package_type: 'deb' | 'rpm';
  distro_package_manager: 'apt' | 'dnf';
  base_arch: string;
  /** Debian's name of the architecture (amd64, arm64): what source checksums are keyed by. */
  debian_arch: string;
  namespace: string;
  image_prefix: string;
  tag: string;
  maintainer: string;
  release: string;
  [extra: string]: unknown;
}

/** The template variables of one image and distro. */
export interface TemplateVariables extends RunTemplateVariables {
  image_name: string;
}

export interface VariablesInput {
  config: Config;
  distro: string;
  /** What root images name in FROM: repository and tag. */
  baseImage: { repository: string; tag: string };
  /** Docker's spelling: x86_64, aarch64. */
  architecture: string;
  namespace: string;
  tag: string;
  /** ci-builder's own version, the default of `kolla_version`. */
  toolVersion: string;
  /** build.patches_path, absolute; templates copy patches only when it is set. */
  patchesPath?: string | undefined;
  /** The environment templates see as `env` (credentials taken out by the caller). */
  environment: Record<string, string | undefined>;
  /** An upstream Kolla release's rules: its templates get exactly the variables its kolla-build gives. */
  kolla?: { rules: KollaRenderRules; buildDate: string | null } | undefined;
}

const debianArchitecture: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };

/** Debian's name (amd64, arm64) of Docker's name of an architecture (x86_64, aarch64). */
export function debianArchitectureOf(architecture: string): string {
  return debianArchitecture[architecture] ?? architecture;
}

/**
 * Every variable kolla-build gives its templates, computed from ci-builder's configuration:
 * the same for every image of a run but `image_name`, which the caller adds per image.
 */
export function templateVariables(input: VariablesInput): RunTemplateVariables {
  const { config, distro } = input;
  const distroConfig = config.distros[distro];
  if (distroConfig === undefined) throw new Error(`internal: unknown distro ${distro}`);
  const packageType = distroConfig.package_type;
  // Kolla's branch names: master, or stable-<release> (slashed: stable/<release>).
  const branch = config.release === 'master' ? 'master' : `stable-${config.release}`;
  const variables: RunTemplateVariables = {
    base_distro: distro,
    base_distro_tag: input.baseImage.tag,
    base_image: input.baseImage.repository,
    base_package_type: packageType,
    distro_package_manager: packageType === 'deb' ? 'apt' : 'dnf',
    base_arch: input.architecture,
    debian_arch: debianArchitectureOf(input.architecture),
    supported_distro_name: distroConfig.pretty_name ?? null,
    namespace: input.namespace,
    image_prefix: config.image_prefix,
    tag: input.tag,
    maintainer: config.maintainer,
    release: config.release,
    openstack_release: config.release,
    openstack_release_codename: config.release_codename ?? capitalized(config.release),
    openstack_branch: branch,
    openstack_branch_slashed: branch.replace(/-/g, '/'),
    kolla_version: config.build.kolla_version ?? input.toolVersion,
    users: Object.fromEntries(
      Object.entries(config.users).map(([name, user]) => [
        name,
        { uid: user.uid, gid: user.gid ?? user.uid, group: user.group ?? name },
      ]),
    ),
    use_dumb_init: config.build.use_dumb_init,
    docker_healthchecks: config.build.healthchecks,
    clean_package_cache: config.build.clean_package_cache,
    rpm_setup: config.build.rpm_setup.map(rpmSetupInstruction),
    patches_path: input.patchesPath ?? null,
    env: input.environment,
  };
  if (input.kolla === undefined) return variables;
  // kolla-build names parents `<registry>/<namespace>` or `<namespace>` alone, never localhost's.
  const registry = config.registry.replace(/\/+$/, '');
  const namespace = registry === '' ? config.namespace : `${registry}/${config.namespace}`;
  return releaseVariables({ ...variables, namespace }, input.kolla);
}

/** The variables a Kolla release's kolla-build gives, computed as that release computes them. */
function releaseVariables(
  variables: RunTemplateVariables,
  kolla: { rules: KollaRenderRules; buildDate: string | null },
): RunTemplateVariables {
  const { rules } = kolla;
  const own: Record<string, unknown> = {
    ...variables,
    openstack_branch: rules.openstackBranch,
    openstack_branch_slashed: rules.openstackBranchSlashed,
    repos_yaml: rules.reposYamlOption,
    distro_python_version: rules.distroPythonVersion(variables.base_distro, variables.base_distro_tag),
    build_date: kolla.buildDate,
  };
  const chosen: Record<string, unknown> = {};
  for (const key of rules.keys) if (key !== 'image_name') chosen[key] = own[key];
  // Every release passes the names the typed fields stand for; a release's own set is what templates see.
  return chosen as RunTemplateVariables;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** kolla-build's rpm_setup_config: .rpm files or URLs are installed, .repo files fetched or copied. */
export function rpmSetupInstruction(entry: string): string {
  if (entry === '') return '';
  if (entry.endsWith('.rpm')) return `RUN dnf -y install ${entry}`;
  if (entry.endsWith('.repo')) {
    if (entry.startsWith('http')) return `RUN curl -L ${entry} -o /etc/yum.repos.d/${entry.split('/').pop() ?? ''}`;
    return `COPY ${entry} /etc/yum.repos.d/`;
  }
  throw new Error(`build.rpm_setup: "${entry}" is neither a .rpm nor a .repo file`);
}
