import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';
import { ConfigError } from '../util/errors.js';
import { DEFAULT_KEY } from './naming.js';

/** `kolla_image_tags`: key (openstack, a service prefix or a container) → distro key → tag. */
export type KollaImageTags = Record<string, Record<string, string>>;

export const TAGS_VARIABLE = 'kolla_image_tags';
export const DEFAULT_TAGS_FILE = 'etc/kayobe/kolla-image-tags.yml';

const KEY_PATTERN = /^[a-z0-9_]+$/;
/** `<distro>-<version>`, as Kayobe's kolla_base_distro_and_version: rocky-9, ubuntu-jammy, debian-bookworm. */
const DISTRO_KEY_PATTERN = /^[a-z][a-z0-9]*-[a-z0-9][a-z0-9.]*$/;

export interface TagsFile {
  path: string;
  text: string;
  tags: KollaImageTags;
}

export function readTagsFile(path: string): TagsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { path, text, tags: parseTags(path, text) };
}

/** The tags a file's text holds, checked: bad input is a ConfigError naming the key and what was expected. */
export function parseTags(path: string, text: string): KollaImageTags {
  const document = parseDocument(text, { uniqueKeys: true });
  const yamlError = document.errors[0];
  if (yamlError) throw new ConfigError(path, '', `not valid YAML: ${yamlError.message.split('\n')[0] ?? ''}`);
  const root = document.contents;
  if (!isMap(root)) throw new ConfigError(path, '', `expected a mapping with ${TAGS_VARIABLE}`);
  const section = root.get(TAGS_VARIABLE, true);
  if (!isMap(section)) throw new ConfigError(path, TAGS_VARIABLE, 'expected a mapping of keys to {distro: tag}');
  const tags: KollaImageTags = {};
  for (const pair of section.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const where = `${TAGS_VARIABLE}.${key}`;
    if (!KEY_PATTERN.test(key)) {
      throw new ConfigError(path, where, `key ${JSON.stringify(key)} must match ${KEY_PATTERN.source}`);
    }
    if (!isMap(pair.value)) throw new ConfigError(path, where, 'expected a mapping of distro to tag');
    const byDistro: Record<string, string> = {};
    for (const entry of pair.value.items) {
      const distro = isScalar(entry.key) ? String(entry.key.value) : '';
      const at = `${where}.${distro}`;
      if (!DISTRO_KEY_PATTERN.test(distro)) {
        throw new ConfigError(path, at, 'expected a distro key <distro>-<version> (rocky-9, ubuntu-jammy)');
      }
      const tag = isScalar(entry.value) && typeof entry.value.value === 'string' ? entry.value.value : undefined;
      if (tag === undefined || !isTagOfDistro(tag, distro)) {
        const shown = JSON.stringify(tag ?? entry.value?.toString() ?? null);
        throw new ConfigError(path, at, `tag ${shown} does not match <release>-${distro}-<YYYYMMDDThhmmss>`);
      }
      byDistro[distro] = tag;
    }
    tags[key] = byDistro;
  }
  const defaults = tags[DEFAULT_KEY];
  if (defaults === undefined) {
    throw new ConfigError(path, `${TAGS_VARIABLE}.${DEFAULT_KEY}`, 'missing: the default tag of every image');
  }
  for (const [key, byDistro] of Object.entries(tags)) {
    const uncovered = Object.keys(byDistro).find((distro) => defaults[distro] === undefined);
    if (uncovered !== undefined) {
      const problem = `${DEFAULT_KEY} has no tag for ${uncovered}, so its other images would have none`;
      throw new ConfigError(path, `${TAGS_VARIABLE}.${key}.${uncovered}`, problem);
    }
  }
  return tags;
}

/** `<release>-<distro key>-<YYYYMMDDThhmmss>`, the tag of a ci-builder (or kayobe CI) run. */
export function isTagOfDistro(tag: string, distro: string): boolean {
  const escaped = distro.replace(/[.]/g, '\\.');
  return new RegExp(`^[a-z0-9][a-z0-9._-]*-${escaped}-\\d{8}T\\d{6}$`).test(tag);
}

/** The distro keys a file has tags for, in the order `openstack` lists them. */
export function distroKeys(tags: KollaImageTags): string[] {
  return Object.keys(tags[DEFAULT_KEY] ?? {});
}
