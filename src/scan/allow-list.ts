import { parseDocument } from 'yaml';
import { ConfigError, UsageError } from '../util/errors.js';
import { MiB, readInputTextSync } from '../util/read-input.js';
import { yamlErrorParts } from '../util/yaml-error.js';

/**
 * The operators' allow-list file: `global_allowed_vulnerabilities` and
 * `<image_with_underscores>_allowed_vulnerabilities`.
 */
export type AllowList = ReadonlyMap<string, readonly string[]>;

const SUFFIX = '_allowed_vulnerabilities';

/** An allow-list is a few lists of ids: kilobytes. */
const ALLOW_LIST_LIMITS = { what: 'allowed vulnerabilities file', maxBytes: 4 * MiB } as const;

/** The file's YAML as plain data; an error names the place, never the text (yaml's own words quote it). */
function yamlData(text: string, file: string): unknown {
  // Warnings (an unknown tag) are not printed: yaml would quote the line.
  const parsed = parseDocument(text, { logLevel: 'silent' });
  const [error] = parsed.errors;
  if (error !== undefined) {
    const { where, what } = yamlErrorParts(error);
    throw new ConfigError(file, where, what);
  }
  try {
    return parsed.toJS() as unknown;
  } catch {
    throw new ConfigError(file, '', 'not valid YAML (an alias without its anchor)');
  }
}

export function parseAllowList(text: string, file: string): AllowList {
  const document = yamlData(text, file);
  if (document === null || document === undefined) return new Map();
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new UsageError(`${file}: (top level): expected a mapping of *${SUFFIX} lists`);
  }
  const lists = new Map<string, string[]>();
  for (const [key, value] of Object.entries(document)) {
    // Other keys (Ansible's workaround variable) are the file's business, not ours.
    if (!key.endsWith(SUFFIX)) continue;
    if (value === null) continue;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.trim() !== '')) {
      throw new UsageError(`${file}: ${key}: expected a list of vulnerability ids`);
    }
    lists.set(
      key.slice(0, -SUFFIX.length),
      value.map((item: string) => item.trim()),
    );
  }
  return lists;
}

export function readAllowList(file: string): AllowList {
  return parseAllowList(readInputTextSync(file, ALLOW_LIST_LIMITS), file);
}

/** The image's name in the allow-list: `keystone-api` is `keystone_api`. */
export function allowedFor(list: AllowList, imageName: string): Set<string> {
  return new Set([...(list.get('global') ?? []), ...(list.get(imageName.replace(/-/g, '_')) ?? [])]);
}
