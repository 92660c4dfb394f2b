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
  nocache?: boolean;
  platform?: string;
}

/**
 * The command line as oslo.config sees it: every flag given, by its option name, so it overrides what the
 * config files say (a repeated flag replaces the files' list, as oslo's command line does).
 */
export function kollaCommandLineValues(flags: KollaBuildFlags): Record<string, KollaConfValue> {
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
 * host's (no emulation here), and --nocache (the engines keep no layer cache to bypass: an image is
 * rebuilt when its inputs change, and reused otherwise).
 */
export function unhonourableKollaFlags(flags: KollaBuildFlags, hostArch: string = hostKollaArch()): string[] {
  const problems: string[] = [];
  const hostPlatform = `linux/${PLATFORM_ARCH[hostArch] ?? hostArch}`;
  if (flags.platform !== undefined && flags.platform !== hostPlatform)
    problems.push(`--platform ${flags.platform} (only this host's ${hostPlatform})`);
  if (flags.baseArch !== undefined && flags.baseArch !== hostArch)
    problems.push(`--base-arch ${flags.baseArch} (only this host's ${hostArch})`);
  if (flags.nocache === true) problems.push('--nocache (images are reused by input digest, never by layer cache)');
  return problems;
}
