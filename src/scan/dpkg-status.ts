import type { InstalledPackage } from './types.js';

/** Splits a deb822 document (dpkg status) into paragraphs of fields; continuation lines are joined. */
export function parseParagraphs(text: string): Array<Map<string, string>> {
  const paragraphs: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) paragraphs.push(current);
      current = new Map();
      lastKey = undefined;
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${line.trim()}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      lastKey = line.slice(0, colon).trim();
      current.set(lastKey, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) paragraphs.push(current);
  return paragraphs;
}

/**
 * dpkg states in which the package's files are on disk (a package left `unpacked` or
 * `half-configured` by a failed install still ships its code); `config-files` and `not-installed` are
 * the states without them.
 */
const FILES_ON_DISK = new Set([
  'installed',
  'unpacked',
  'half-configured',
  'half-installed',
  'triggers-awaiting',
  'triggers-pending',
]);

/** A package of a dpkg status file with its relations, as written (resolved against the others later). */
export interface DpkgRecord {
  pkg: InstalledPackage;
  /** Depends and Pre-Depends: each entry a list of alternatives, by package name. */
  depends: string[][];
  /** The virtual packages it provides, by name. */
  provides: string[];
}

/** `libc6 (>= 2.34), debconf | debconf-2.0, python3:any` → `[[libc6], [debconf, debconf-2.0], [python3]]`. */
export function parseRelations(text: string | undefined): string[][] {
  if (!text) return [];
  return text
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alternative) => /^\s*([a-z0-9][a-z0-9+.-]*)/i.exec(alternative)?.[1])
        .filter((name): name is string => name !== undefined),
    )
    .filter((group) => group.length > 0);
}

/**
 * The packages of a dpkg status file whose files are on disk, with their source package and relations.
 * status.d/ files of distroless images carry no Status field: being there means installed.
 */
export function parseDpkgStatus(text: string): DpkgRecord[] {
  const records: DpkgRecord[] = [];
  for (const fields of parseParagraphs(text)) {
    const name = fields.get('Package');
    const version = fields.get('Version');
    const state = fields.has('Status') ? ((fields.get('Status') ?? '').split(/\s+/)[2] ?? '') : 'installed';
    if (!name || !version || !FILES_ON_DISK.has(state)) continue;
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(fields.get('Source') ?? '');
    const pkg: InstalledPackage = {
      type: 'deb',
      name,
      version,
      sourceName: source?.[1] ?? name,
      sourceVersion: source?.[2]?.trim() ?? version,
      arch: fields.get('Architecture'),
      ...(state === 'installed' ? {} : { state }),
    };
    const depends = [...parseRelations(fields.get('Pre-Depends')), ...parseRelations(fields.get('Depends'))];
    records.push({ pkg, depends, provides: parseRelations(fields.get('Provides')).flat() });
  }
  return records;
}

/**
 * Each package's dependencies among the installed ones: every alternative that is installed, by its
 * own name or through a package that provides it (a virtual package such as `debconf-2.0`).
 */
export function resolveDpkgDependencies(records: readonly DpkgRecord[]): InstalledPackage[] {
  const providers = new Map<string, Set<string>>();
  const provide = (what: string, by: string) => {
    const set = providers.get(what) ?? new Set<string>();
    set.add(by);
    providers.set(what, set);
  };
  for (const { pkg, provides } of records) {
    provide(pkg.name, pkg.name);
    for (const name of provides) provide(name, pkg.name);
  }
  return records.map(({ pkg, depends }) => {
    const names = new Set(depends.flat().flatMap((name) => [...(providers.get(name) ?? [])]));
    names.delete(pkg.name);
    return names.size > 0 ? { ...pkg, dependsOn: [...names].sort() } : pkg;
  });
}
