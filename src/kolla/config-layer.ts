import { resolve } from 'node:path';
import type { PlainObject } from '../util/plain-object.js';
import type { KollaBuildConf, KollaConfValue } from './build-conf.js';
import { kollaBuildSettings, type KollaBuildSettings } from './effective-options.js';
import type { KollaCheckout } from './read-checkout.js';
import { defaultImageTag, unbuildableFor } from './release-values.js';

/** The distros whose packages are rpms, as kolla-build decides base_package_type. */
const RPM_DISTROS = new Set(['centos', 'rocky', 'rhel', 'almalinux']);

const SOURCE_KEYS = ['type', 'location', 'reference', 'enabled', 'sha256'] as const;

function text(value: KollaConfValue | null | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function list(value: KollaConfValue | null | undefined): string[] {
  if (Array.isArray(value)) return value;
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/**
 * oslo.config's substitution, as kolla-build's source options get it: `$name` and `${name}` name another
 * option (`$tarballs_base`, `${openstack_branch}`), `$$` is a dollar sign.
 */
function substituted(value: string, options: Record<string, unknown>): string {
  return value.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (match, _all, braced, bare) => {
    if (match === '$$') return '$';
    const option = options[String(braced ?? bare)];
    return typeof option === 'string' ? option : match;
  });
}

/** The keys of a source entry the configuration knows (Kolla's table also keeps notes for its own scripts). */
function sourceSection(entry: Record<string, unknown>, options: Record<string, unknown>): PlainObject {
  const section: PlainObject = {};
  for (const key of SOURCE_KEYS) {
    const value = entry[key];
    if (value !== undefined) section[key] = typeof value === 'string' ? substituted(value, options) : value;
  }
  return section;
}

export interface KollaLayer {
  /** Config keys, below the operator's own. */
  values: PlainObject;
  settings: KollaBuildSettings;
  /** `[section] key` of every option kolla-build.conf sets that this release does not know. */
  unknownOptions: string[];
}

/**
 * What a Kolla checkout and a kolla-build.conf say, as ci-builder configuration: the image tree, users,
 * sources, profiles as sets, each distro's base image and unbuildable images, and kolla-build.conf's
 * [DEFAULT] options. Paths the conf names are taken against `cwd`, as kolla-build takes them.
 */
export function kollaConfigLayer(checkout: KollaCheckout, conf: KollaBuildConf, cwd: string): KollaLayer {
  const settings = kollaBuildSettings(checkout, conf);
  const values = settings.values;
  const users: PlainObject = {};
  for (const [section, user] of Object.entries(checkout.users)) {
    users[section.replace(/-user$/, '')] = { ...user, ...conf.users[section] };
  }
  for (const [section, user] of Object.entries(conf.users)) {
    const name = section.replace(/-user$/, '');
    if (users[name] === undefined && user.uid !== undefined) users[name] = { ...user };
  }
  const options: Record<string, unknown> = { tarballs_base: checkout.tarballsBase, ...values };
  const sources: PlainObject = {};
  for (const [section, entry] of Object.entries(checkout.sources)) sources[section] = sourceSection(entry, options);
  for (const [section, entry] of Object.entries(conf.sources)) {
    const merged = { ...(sources[section] as PlainObject | undefined), ...sourceSection({ ...entry }, options) };
    if (merged.type === 'local' && typeof merged.location === 'string') {
      merged.location = resolve(cwd, merged.location);
    }
    sources[section] = merged;
  }
  const distros: PlainObject = {};
  for (const [name, distro] of Object.entries(checkout.distros)) {
    const chosen = name === settings.base;
    const baseTag = chosen ? settings.baseTag : distro.baseTag;
    const baseImage = chosen ? settings.baseImage : distro.baseImage;
    distros[name] = {
      version: baseTag,
      package_type: RPM_DISTROS.has(name) ? 'rpm' : 'deb',
      base_image: { image: baseImage, tag: baseTag },
      // kolla-build's enable_unbuildable builds what the release marks unbuildable.
      unbuildable:
        values.enable_unbuildable === true
          ? []
          : unbuildableFor(checkout, { base: name, base_arch: settings.baseArch, base_tag: baseTag }),
      ...(distro.prettyName === null ? {} : { pretty_name: distro.prettyName }),
    };
  }
  const build: PlainObject = {
    template_overrides: list(values.template_override).map((file) => resolve(cwd, file)),
    repos_yaml: list(values.repos_yaml).map((file) => resolve(cwd, file)),
    rpm_setup: list(values.rpm_setup_config),
    use_dumb_init: values.use_dumb_init !== false,
    healthchecks: values.docker_healthchecks !== false,
    clean_package_cache: values.clean_package_cache !== false,
  };
  if (typeof values.timeout === 'number' && values.timeout > 0) build.source_timeout = values.timeout;
  const patchesPath = text(values.patches_path);
  if (patchesPath !== undefined) build.patches_path = resolve(cwd, patchesPath);
  if (checkout.version.templateValue !== null) build.kolla_version = checkout.version.templateValue;
  const layer: PlainObject = {
    release: settings.openstackRelease,
    registry: text(values.registry) ?? '',
    namespace: text(values.namespace) ?? 'kolla',
    image_prefix: text(values.image_name_prefix) ?? '',
    maintainer: text(values.maintainer) ?? checkout.maintainer,
    images_dirs: [checkout.imageTree],
    users,
    sources,
    sets: { ...checkout.profiles, ...conf.profiles },
    distros,
    default_distro: settings.base,
    build,
  };
  const codename = text(values.openstack_release_codename) ?? checkout.codename;
  if (codename !== null) layer.release_codename = codename;
  // How a run goes, only where the conf or command line sets it: the release's defaults are kolla-build's own.
  for (const key of ['threads', 'push_threads', 'retries', 'engine'] as const) {
    const value = values[key];
    if (settings.explicit.includes(key) && (typeof value === 'number' || typeof value === 'string')) layer[key] = value;
  }
  const podmanUrl = text(values.podman_base_url);
  if (values.engine === 'podman' && settings.explicit.includes('podman_base_url') && podmanUrl !== undefined) {
    layer.engine_url = podmanUrl;
  }
  const unknownOptions = conf.unknown.map(({ section, key }) =>
    key === null ? `[${section}]` : `[${section}] ${key}`,
  );
  return { values: layer, settings, unknownOptions };
}

/** The tag kolla-build gives images of a distro when none is set: its conf's, else the release's default. */
export function kollaDefaultTag(checkout: KollaCheckout, settings: KollaBuildSettings, distro: string): string | null {
  if (settings.explicit.includes('tag')) return settings.tag;
  const baseTag = distro === settings.base ? settings.baseTag : (checkout.distros[distro]?.baseTag ?? '');
  return defaultImageTag(checkout, { openstack_release: settings.openstackRelease, base: distro, base_tag: baseTag });
}
