import { arch } from 'node:os';
import type { KollaConfValue } from './build-conf.js';

/** The kolla-build flags `ci-builder kolla-build` takes that set a `[DEFAULT]` option of kolla-build.conf. */
export interface KollaBuildFlags {
  base?: string;
  baseTag?: string;
  baseImage?: string;
  baseArch?: string;
  namespace?: string;
  registry?: string;
  tag?: string;
  threads?: number;
  pushThreads?: number;
  retries?: number;
  templateOverride?: string[];
  platform?: string;
  debianArch?: string;
  buildArgs?: string;
  networkMode?: string;
  timeout?: number;
  localsBase?: string;
  tarballsBase?: string;
  openstackRelease?: string;
  openstackReleaseCodename?: string;
  openstackBranch?: string;
  openstackBranchSlashed?: string;
  imageNamePrefix?: string;
  reposYaml?: string;
  patchesPath?: string;
  podmanBaseUrl?: string;
}

/** The boolean options that reach the configuration (the rest steer the command itself). */
export interface KollaBuildSwitches {
  useDumbInit: boolean;
  dockerHealthchecks: boolean;
  enableUnbuildable: boolean;
  keep: boolean;
  squash: boolean;
}

/**
 * The command line as oslo.config sees it: every flag given, by its option name, so it overrides what the
 * config files say (a repeated flag replaces the files' list, as oslo's command line does).
 */
export function kollaCommandLineValues(
  flags: KollaBuildFlags,
  switches?: KollaBuildSwitches,
): Record<string, KollaConfValue> {
  const values: Record<string, KollaConfValue | undefined> = {
    base: flags.base,
    base_tag: flags.baseTag,
    base_image: flags.baseImage,
    base_arch: flags.baseArch,
    namespace: flags.namespace,
    registry: flags.registry,
    tag: flags.tag,
    threads: flags.threads,
    push_threads: flags.pushThreads,
    retries: flags.retries,
    template_override: flags.templateOverride,
    debian_arch: flags.debianArch,
    timeout: flags.timeout,
    locals_base: flags.localsBase,
    tarballs_base: flags.tarballsBase,
    openstack_release: flags.openstackRelease,
    openstack_release_codename: flags.openstackReleaseCodename,
    openstack_branch: flags.openstackBranch,
    openstack_branch_slashed: flags.openstackBranchSlashed,
    image_name_prefix: flags.imageNamePrefix,
    repos_yaml: flags.reposYaml,
    patches_path: flags.patchesPath,
    podman_base_url: flags.podmanBaseUrl,
    network_mode: flags.networkMode,
    // A switch reaches the configuration only when it differs from kolla-build's default, as a flag given.
    use_dumb_init: switches?.useDumbInit === false ? false : undefined,
    docker_healthchecks: switches?.dockerHealthchecks === false ? false : undefined,
    enable_unbuildable: switches?.enableUnbuildable === true ? true : undefined,
  };
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, KollaConfValue] => entry[1] !== undefined),
  );
}

/** kolla-build's `base_arch` words for Node's names of the host's architecture. */
const KOLLA_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ppc64: 'ppc64le' };
/** Docker's platform names for kolla-build's `base_arch` words. */
const PLATFORM_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', ppc64le: 'ppc64le' };

export const hostKollaArch = (nodeArch: string = arch()): string => KOLLA_ARCH[nodeArch] ?? nodeArch;

/**
 * The flags given that ci-builder cannot honour, each with why: a build for another architecture than the
 * host's (no emulation here), kept build containers, squashed layers, build arguments, and any network for
 * the builds other than the host's.
 */
export function unhonourableKollaFlags(
  flags: KollaBuildFlags,
  switches?: Pick<KollaBuildSwitches, 'keep' | 'squash'>,
  hostArch: string = hostKollaArch(),
): string[] {
  const problems: string[] = [];
  const hostPlatform = `linux/${PLATFORM_ARCH[hostArch] ?? hostArch}`;
  const hostDebianArch = PLATFORM_ARCH[hostArch] ?? hostArch;
  if (flags.platform !== undefined && flags.platform !== hostPlatform)
    problems.push(`--platform ${flags.platform} (only this host's ${hostPlatform})`);
  if (flags.baseArch !== undefined && flags.baseArch !== hostArch)
    problems.push(`--base-arch ${flags.baseArch} (only this host's ${hostArch})`);
  if (flags.debianArch !== undefined && flags.debianArch !== hostDebianArch)
    problems.push(`--debian-arch ${flags.debianArch} (only this host's ${hostDebianArch})`);
  if (switches?.keep === true) problems.push('--keep (failed build containers are always removed)');
  if (switches?.squash === true) problems.push('--squash (images keep their layers)');
  if (flags.buildArgs !== undefined && flags.buildArgs !== '')
    problems.push('--build-args (templates get their values from the configuration, not build arguments)');
  if (flags.networkMode !== undefined && flags.networkMode !== 'host')
    problems.push(`--network_mode ${flags.networkMode} (builds use the host network)`);
  return problems;
}
