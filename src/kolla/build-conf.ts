import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, UsageError, errorCodeOrMessage } from '../util/errors.js';
import type { KollaOption, KollaOptionGroups } from './checkout-data.js';
import type { KollaCheckout } from './read-checkout.js';
import { parseOsloIni, type IniAssignment, type IniFile } from './oslo-ini.js';

/** What kolla-build.conf may say, as the release in use declares it (see readKollaCheckout). */
export interface KollaConfOptions {
  options: KollaOptionGroups;
  /** Names of the release's own source sections (`openstack-base`, `keystone-base`...). */
  sourceSections: string[];
}

/** The options a checkout's release knows, for reading its kolla-build.conf. */
export const confOptionsOf = (checkout: KollaCheckout): KollaConfOptions => ({
  options: checkout.options,
  sourceSections: Object.keys(checkout.sources),
});

export type KollaConfValue = string | number | boolean | string[] | Record<string, string>;

/** A source section: `[<image>]`, `[<image>-plugin-<name>]` or `[<image>-additions-<name>]`; what the file sets. */
export interface KollaConfSource {
  type?: 'url' | 'git' | 'local';
  location?: string;
  reference?: string;
  version?: string;
  enabled?: boolean;
  /** Debian architecture (`amd64`, `arm64`) to hex sha256. */
  sha256?: Record<string, string>;
}

export interface KollaConfUser {
  uid?: number;
  gid?: number;
  group?: string;
}

export interface KollaBuildConf {
  /** `[DEFAULT]` options the files set, by oslo's name (`base_tag`, `push_threads`...). */
  defaults: Record<string, KollaConfValue>;
  profiles: Record<string, string[]>;
  sources: Record<string, KollaConfSource>;
  /** Keyed by the section name (`nova-user`). */
  users: Record<string, KollaConfUser>;
  /** Options and sections the release does not know: kolla-build ignores them; print them as a warning. */
  unknown: { file: string; section: string; key: string | null }[];
  files: string[];
}

const dest = (name: string): string => name.replace(/-/g, '_');
const booleanWords: Record<string, boolean> = {
  true: true,
  '1': true,
  on: true,
  yes: true,
  false: false,
  '0': false,
  off: false,
  no: false,
};
const isMulti = (option: KollaOption): boolean => option.kind === 'MultiOpt' || option.kind === 'MultiStrOpt';

function convert(option: KollaOption, text: string, where: { file: string; path: string }): KollaConfValue {
  const bad = (expected: string): ConfigError =>
    new ConfigError(where.file, where.path, `${expected}, found ${JSON.stringify(text)}`);
  switch (option.kind) {
    case 'BoolOpt': {
      const value = booleanWords[text.trim().toLowerCase()];
      if (value === undefined) throw bad('true/false, yes/no, on/off or 1/0 expected');
      return value;
    }
    case 'IntOpt':
    case 'PortOpt': {
      const trimmed = text.trim();
      if (!/^[-+]?[0-9]+$/.test(trimmed)) throw bad('an integer expected');
      const value = Number(trimmed);
      if (option.min !== undefined && value < option.min) throw bad(`an integer of at least ${option.min} expected`);
      if (option.max !== undefined && value > option.max) throw bad(`an integer of at most ${option.max} expected`);
      return value;
    }
    case 'FloatOpt': {
      const value = Number(text.trim());
      if (text.trim() === '' || Number.isNaN(value)) throw bad('a number expected');
      return value;
    }
    case 'ListOpt': {
      const trimmed = text.trim().replace(/,+$/, '');
      return trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
    }
    case 'DictOpt': {
      const trimmed = text.trim();
      const result: Record<string, string> = {};
      if (trimmed === '') return result;
      for (const pair of trimmed.split(',')) {
        const at = pair.indexOf(':');
        if (at < 0) throw bad('"key:value" pairs separated by commas expected');
        result[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
      }
      return result;
    }
    case 'StrOpt':
    case 'URIOpt':
    case 'HostnameOpt':
    case 'HostAddressOpt':
    case 'IPOpt':
    case 'MultiOpt':
    case 'MultiStrOpt':
      if (option.choices !== undefined && !option.choices.includes(text)) {
        throw bad(`one of ${option.choices.join(', ')} expected`);
      }
      return text;
    default: {
      const never: never = option.kind;
      return never;
    }
  }
}

interface Located {
  file: string;
  assignment: IniAssignment;
}

/** Every assignment of a section across files, in file order (oslo: a later file wins, multi values accumulate). */
function assignmentsOf(files: IniFile[], section: string): Located[] {
  return files.flatMap((file) =>
    (file.sections.get(section) ?? []).map((assignment) => ({ file: file.file, assignment })),
  );
}

function sectionValues(
  files: IniFile[],
  section: string,
  options: KollaOption[],
  unknown: KollaBuildConf['unknown'],
): Record<string, KollaConfValue> {
  const byDest = new Map(options.map((option) => [dest(option.name), option]));
  const values: Record<string, KollaConfValue> = {};
  const multi = new Map<string, string[]>();
  for (const { file, assignment } of assignmentsOf(files, section)) {
    const option = byDest.get(assignment.key);
    if (option === undefined) {
      unknown.push({ file, section, key: assignment.key });
      continue;
    }
    const where = { file, path: `[${section}] ${assignment.key} (line ${assignment.line})` };
    const value = convert(option, assignment.value, where);
    if (isMulti(option)) {
      const list = multi.get(assignment.key) ?? [];
      // A multi option's value is its text as written, once convert has checked it against the choices.
      list.push(assignment.value);
      multi.set(assignment.key, list);
      values[assignment.key] = list;
    } else {
      values[assignment.key] = value;
    }
  }
  return values;
}

const userSection = /^.+-user$/;
const extraSourceSection = /^.+-(plugin|additions)-.+$/;

/** The typed content of kolla-build.conf files, read in order (later wins); unknown options are listed, not fatal. */
export function kollaBuildConfFromFiles(files: IniFile[], known: KollaConfOptions): KollaBuildConf {
  const unknown: KollaBuildConf['unknown'] = [];
  const sourceNames = new Set(known.sourceSections.map((name) => name.toLowerCase()));
  const conf: KollaBuildConf = {
    defaults: {},
    profiles: {},
    sources: {},
    users: {},
    unknown,
    files: files.map((f) => f.file),
  };
  const sections = [...new Set(files.flatMap((file) => [...file.sections.keys()]))];
  for (const section of sections) {
    if (section === 'DEFAULT') {
      conf.defaults = sectionValues(files, section, [...known.options.cli, ...known.options.base], unknown);
    } else if (section === 'profiles') {
      // Operators add profiles of their own: any key of [profiles] is a list of image regexes.
      for (const { file, assignment } of assignmentsOf(files, section)) {
        const option: KollaOption = { kind: 'ListOpt', name: assignment.key };
        const where = { file, path: `[profiles] ${assignment.key} (line ${assignment.line})` };
        conf.profiles[assignment.key] = convert(option, assignment.value, where) as string[];
      }
    } else if (userSection.test(section)) {
      conf.users[section] = sectionValues(files, section, known.options.user, unknown);
    } else if (sourceNames.has(section) || extraSourceSection.test(section)) {
      conf.sources[section] = sectionValues(files, section, known.options.source, unknown);
    } else {
      unknown.push({ file: files.find((file) => file.sections.has(section))?.file ?? '', section, key: null });
    }
  }
  return conf;
}

/** Parses one kolla-build.conf text (`file` names it in errors). */
export function parseKollaBuildConf(text: string, file: string, known: KollaConfOptions): KollaBuildConf {
  return kollaBuildConfFromFiles([parseOsloIni(text, file)], known);
}

/** `--config-file FILE`: read and parse one file. */
export async function readKollaBuildConf(file: string, known: KollaConfOptions): Promise<KollaBuildConf> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new UsageError(`${file}: cannot be read (${errorCodeOrMessage(error)})`);
  });
  return parseKollaBuildConf(text, file, known);
}

/** `--config-dir DIR`, as oslo.config reads it: every `*.conf` in DIR, in sorted order, later files winning. */
export async function readKollaConfigDir(dir: string, known: KollaConfOptions): Promise<KollaBuildConf> {
  const names = await readdir(dir).catch((error: unknown) => {
    throw new UsageError(`${dir}: cannot be read as a config dir (${errorCodeOrMessage(error)})`);
  });
  const files: IniFile[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.conf') && !entry.startsWith('.')).sort()) {
    const path = join(dir, name);
    files.push(parseOsloIni(await readFile(path, 'utf8'), path));
  }
  return kollaBuildConfFromFiles(files, known);
}
