import { parseParagraphs } from '../scan/dpkg-status.js';

/** Where apt reads pins: `/etc/apt/preferences`, then `/etc/apt/preferences.d/*` in name order. */
export const PREFERENCES_FILE = 'etc/apt/preferences';
export const PREFERENCES_DIR = 'etc/apt/preferences.d/';

/** apt's "never" priority: a version it never selects, whatever else pins it. */
export const NEVER_PIN = -32768;
/** apt keeps priorities in a short: anything beyond is an error apt stops on. */
const MAX_PIN = 32767;

/** How a pin picks versions (apt_preferences(5)). */
export type PinMatch =
  | { type: 'version'; pattern: string }
  | { type: 'release'; fields: ReleasePinFields }
  | { type: 'origin'; site: string };

/** `Pin: release a=…, n=…`: every field given must match; `*` alone matches every file. */
export interface ReleasePinFields {
  all?: true;
  /** A bare word: the archive or the codename. */
  release?: string;
  version?: string;
  versionPrefix?: boolean;
  origin?: string;
  archive?: string;
  codename?: string;
  label?: string;
  component?: string;
  architecture?: string;
}

/** One Package/Pin/Pin-Priority record; an empty `packages` list is a general (`Package: *`) pin. */
export interface Pin {
  packages: string[];
  match: PinMatch;
  priority: number;
  /** The file and record, for one-line errors. */
  origin: string;
}

export class PreferencesError extends Error {}

/** A preferences file name apt reads from preferences.d: no extension or `.pref`, and only these characters. */
export function isPreferencesPart(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name) && (!name.includes('.') || name.endsWith('.pref'));
}

function parseReleasePin(data: string): ReleasePinFields {
  if (data === '*') return { all: true };
  const fields: ReleasePinFields = {};
  if (!data.includes('=')) {
    // A bare word: a version when it starts with a digit, else an archive or codename.
    if (/^\d/.test(data)) fields.version = data;
    else fields.release = data;
  } else {
    const keys = {
      v: 'version',
      o: 'origin',
      a: 'archive',
      n: 'codename',
      l: 'label',
      c: 'component',
      b: 'architecture',
    } as const;
    for (const fragment of data.split(',').map((part) => part.trim())) {
      const key = keys[fragment.slice(0, 1).toLowerCase() as keyof typeof keys] as keyof ReleasePinFields | undefined;
      if (fragment.length < 3 || fragment[1] !== '=' || key === undefined) continue;
      (fields as Record<string, string>)[key] = fragment.slice(2);
    }
  }
  if (fields.version?.endsWith('*')) {
    fields.version = fields.version.slice(0, -1);
    fields.versionPrefix = true;
  }
  return fields;
}

/** The pins of one preferences file, in order; a record apt would reject is a PreferencesError naming it. */
export function parsePreferences(text: string, file: string): Pin[] {
  const pins: Pin[] = [];
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  for (const [index, record] of parseParagraphs(withoutComments).entries()) {
    const where = `${file}, record ${index + 1}`;
    // apt's tag files name fields case-insensitively: `package:` is `Package:`.
    const fields = new Map([...record].map(([key, value]) => [key.toLowerCase(), value]));
    const packages = fields.get('package');
    if (packages === undefined || packages === '') throw new PreferencesError(`${where}: no Package header`);
    const pin = fields.get('pin');
    if (pin === undefined) continue;
    const [kind = '', ...rest] = pin.trim().split(/\s+/);
    const data = rest.join(' ');
    const general = packages.trim() === '*';
    let match: PinMatch;
    if (kind.toLowerCase() === 'version' && !general) match = { type: 'version', pattern: data };
    else if (kind.toLowerCase() === 'release') match = { type: 'release', fields: parseReleasePin(data) };
    else if (kind.toLowerCase() === 'origin') match = { type: 'origin', site: data.replace(/^"(.*)"$/, '$1') };
    else continue;
    const written = (fields.get('pin-priority') ?? '').trim();
    const priority = written === 'never' ? NEVER_PIN : Number.parseInt(written, 10);
    if (written === 'never' && !general) throw new PreferencesError(`${where}: 'never' is for Package: * records only`);
    if (!Number.isFinite(priority) || priority === 0) throw new PreferencesError(`${where}: no priority (or zero)`);
    if (priority < NEVER_PIN || priority > MAX_PIN)
      throw new PreferencesError(`${where}: priority ${written} is outside ${NEVER_PIN} to ${MAX_PIN}`);
    pins.push({ packages: general ? [] : packages.trim().split(/\s+/), match, priority, origin: where });
  }
  return pins;
}

/** APT::Default-Release from apt.conf text, when set: it pins that release at 990. */
export function defaultReleaseOf(aptConf: string): string | undefined {
  const match =
    /APT::Default-Release\s+"([^"]*)"\s*;/.exec(aptConf) ?? /APT\s*\{[^}]*Default-Release\s+"([^"]*)"/s.exec(aptConf);
  return match?.[1] === '' ? undefined : match?.[1];
}
