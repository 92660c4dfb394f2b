import { UsageError } from '../util/errors.js';
import type { KollaBuildConf, KollaConfValue } from './build-conf.js';
import type { KollaOption } from './checkout-data.js';
import type { KollaCheckout } from './read-checkout.js';
import { defaultImageTag, openstackBranch } from './release-values.js';

/** The `[DEFAULT]` options of one kolla-build run, after defaults, files and command line, by oslo name. */
export type KollaOptionValues = Record<string, KollaConfValue | null>;

/** The settings every build reads, typed; `values` has every `[DEFAULT]` option of the release. */
export interface KollaBuildSettings {
  base: string;
  baseTag: string;
  baseImage: string;
  baseArch: string;
  /** Debian's name of the architecture (amd64, arm64), derived from base_arch unless set. */
  debianArch: string;
  /** `<registry>/<namespace>` when a registry is set, as image names and FROM lines use it. */
  namespace: string;
  tag: string;
  openstackRelease: string;
  openstackBranch: string;
  openstackBranchSlashed: string;
  values: KollaOptionValues;
  /** Options the files or the command line set (the rest are the release's defaults). */
  explicit: string[];
}

const dest = (name: string): string => name.replace(/-/g, '_');

function declaredDefault(option: KollaOption, version: string | null): KollaConfValue | null {
  const value = option.default;
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value)) return '$ref' in value ? version : null;
  return value;
}

function text(values: KollaOptionValues, name: string): string | null {
  const value = values[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * What kolla-build would run with: the release's defaults, then the config files, then the command line
 * (`overrides`, by oslo name), then the defaults kolla-build derives from others (base_tag and base_image
 * from the distro, tag, openstack_branch, debian_arch) where nothing set them.
 */
export function kollaBuildSettings(
  checkout: KollaCheckout,
  conf: KollaBuildConf,
  overrides: KollaOptionValues = {},
): KollaBuildSettings {
  const version = checkout.version.version.source === 'none' ? null : checkout.version.version.version;
  const values: KollaOptionValues = {};
  for (const option of [...checkout.options.cli, ...checkout.options.base]) {
    values[dest(option.name)] = declaredDefault(option, version);
  }
  const explicit = new Set([...Object.keys(conf.defaults), ...Object.keys(overrides)]);
  Object.assign(values, conf.defaults, overrides);
  const base = text(values, 'base');
  const distro = base === null ? undefined : checkout.distros[base];
  if (base === null || distro === undefined) {
    throw new UsageError(
      `base: ${base ?? '(unset)'} is not a distro of Kolla ${checkout.release} ` +
        `(${Object.keys(checkout.distros).join(', ')})`,
    );
  }
  const derive = (name: string, value: string): string => {
    if (!explicit.has(name) || text(values, name) === null) values[name] = value;
    return text(values, name) ?? value;
  };
  const baseTag = derive('base_tag', distro.baseTag);
  const baseImage = derive('base_image', distro.baseImage);
  const baseArch = text(values, 'base_arch') ?? 'x86_64';
  const debianArch = derive('debian_arch', baseArch === 'aarch64' ? 'arm64' : 'amd64');
  const openstackRelease = text(values, 'openstack_release') ?? checkout.release;
  const branch = openstackBranch(checkout, openstackRelease);
  const dashed = derive('openstack_branch', branch.dashed);
  const slashed = derive('openstack_branch_slashed', branch.slashed);
  const tag = explicit.has('tag')
    ? text(values, 'tag')
    : defaultImageTag(checkout, { openstack_release: openstackRelease, base, base_tag: baseTag });
  if (tag === null) {
    throw new UsageError(
      `tag: not set, and Kolla ${checkout.release} defaults it to its version, which is unknown: ` +
        (checkout.version.version.source === 'none' ? checkout.version.version.reason : ''),
    );
  }
  values['tag'] = tag;
  const registry = text(values, 'registry');
  const namespace = text(values, 'namespace') ?? '';
  return {
    base,
    baseTag,
    baseImage,
    baseArch,
    debianArch,
    tag,
    openstackRelease,
    namespace: registry === null ? namespace : `${registry}/${namespace}`,
    openstackBranch: dashed,
    openstackBranchSlashed: slashed,
    values,
    explicit: [...explicit].sort(),
  };
}
