import { isUtf8 } from 'node:buffer';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { ConfigError } from '../util/errors.js';
import { MiB, readInputBytesSync } from '../util/read-input.js';
import { yamlErrorParts } from '../util/yaml-error.js';
import { DEFAULT_KEY } from './naming.js';

/** `kolla_image_tags`: key (openstack, a service prefix or a container) → distro key → tag. */
export type KollaImageTags = Record<string, Record<string, string>>;

export const TAGS_VARIABLE = 'kolla_image_tags';
export const DEFAULT_TAGS_FILE = 'etc/kayobe/kolla-image-tags.yml';

/** A tags file is kilobytes (every Kolla image, a few distros); past a few MiB it is not one. */
export const TAGS_FILE_LIMITS = { what: 'tags file', maxBytes: 4 * MiB } as const;

const KEY_PATTERN = /^[a-z0-9_]+$/;
/** `<distro>-<version>`, as Kayobe's kolla_base_distro_and_version: rocky-9, ubuntu-jammy, debian-bookworm. */
const DISTRO_KEY_PATTERN = /^[a-z][a-z0-9]*-[a-z0-9][a-z0-9.]*$/;

/**
 * How the file's bytes are held as text: UTF-8 when they are UTF-8, else Latin-1, which gives
 * each byte a character of its own. Either way the text encodes back to the very same bytes, so
 * an edit changes nothing but the values it sets (a Latin-1 comment does not become U+FFFD).
 */
export type TagsFileEncoding = 'utf8' | 'latin1';

export interface TagsFile {
  path: string;
  text: string;
  encoding: TagsFileEncoding;
  tags: KollaImageTags;
}

export function readTagsFile(path: string): TagsFile {
  const bytes = readInputBytesSync(path, TAGS_FILE_LIMITS);
  const encoding: TagsFileEncoding = isUtf8(bytes) ? 'utf8' : 'latin1';
  const text = bytes.toString(encoding);
  return { path, text, encoding, tags: parseTags(path, text) };
}

/**
 * The first key a mapping of the document holds twice. yaml's own check (`uniqueKeys`) compares
 * each key with every key before it: a tags file of many keys took minutes.
 */
function duplicateKey(document: Document): { offset: number } | undefined {
  let found: { offset: number } | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          found = { offset: pair.key.range?.[0] ?? 0 };
          return visit.BREAK;
        }
        seen.add(pair.key.value);
      }
      return undefined;
    },
  });
  return found;
}

/** The tags a file's text holds, checked: bad input is a ConfigError naming the key and what was expected. */
export function parseTags(path: string, text: string): KollaImageTags {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: false, lineCounter });
  const yamlError = document.errors[0];
  if (yamlError) {
    const { where, what } = yamlErrorParts(yamlError);
    throw new ConfigError(path, where, what);
  }
  const duplicate = duplicateKey(document);
  if (duplicate !== undefined) {
    const { line, col } = lineCounter.linePos(duplicate.offset);
    throw new ConfigError(path, `line ${line}, column ${col}`, 'not valid YAML (a key given twice in one mapping)');
  }
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
