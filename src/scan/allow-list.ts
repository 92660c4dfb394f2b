import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UsageError } from '../util/errors.js';

/**
 * The operators' allow-list file: `global_allowed_vulnerabilities` and
 * `<image_with_underscores>_allowed_vulnerabilities`.
 */
export type AllowList = ReadonlyMap<string, readonly string[]>;

const SUFFIX = '_allowed_vulnerabilities';

export function parseAllowList(text: string, file: string): AllowList {
  let document: unknown;
  try {
    document = parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${file}: cannot read the allowed vulnerabilities file (${code})`);
  }
  return parseAllowList(text, file);
}

/** The image's name in the allow-list: `keystone-api` is `keystone_api`. */
export function allowedFor(list: AllowList, imageName: string): Set<string> {
  return new Set([...(list.get('global') ?? []), ...(list.get(imageName.replace(/-/g, '_')) ?? [])]);
}
