import type { Config } from '../config/schema.js';

/** The registry-and-namespace prefix of every image; `localhost/` when images stay local. */
export function imageNamespace(config: Pick<Config, 'registry' | 'namespace'>): string {
  const registry = config.registry.replace(/\/+$/, '');
  return `${registry === '' ? 'localhost' : registry}/${config.namespace}`;
}

export function imageReference(
  config: Pick<Config, 'registry' | 'namespace' | 'image_prefix'>,
  name: string,
  tag: string,
): string {
  return `${imageNamespace(config)}/${config.image_prefix}${name}:${tag}`;
}

/** `<release>-<distro>-<distro_version>-<YYYYMMDDTHHMMSS>` in UTC, the one tag of a run. */
export function runTag(release: string, distro: string, distroVersion: string, at: Date): string {
  return `${release}-${distro}-${distroVersion}-${runStamp(at)}`;
}

/** `YYYYMMDDTHHMMSS` in UTC: the part of a run tag every distro of one pipeline shares. */
export function runStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
}

const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const isValidTag = (tag: string): boolean => tagPattern.test(tag);
