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

/** The installed packages of a dpkg status file: `Status: … installed` only, with their source package. */
export function parseDpkgStatus(text: string, location?: string): InstalledPackage[] {
  const packages: InstalledPackage[] = [];
  for (const fields of parseParagraphs(text)) {
    const name = fields.get('Package');
    const version = fields.get('Version');
    const status = (fields.get('Status') ?? '').split(/\s+/);
    // status.d/ files of distroless images carry no Status field: being there means installed.
    if (!name || !version || (fields.has('Status') && status[2] !== 'installed')) continue;
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(fields.get('Source') ?? '');
    packages.push({
      type: 'deb',
      name,
      version,
      sourceName: source?.[1] ?? name,
      sourceVersion: source?.[2]?.trim() ?? version,
      arch: fields.get('Architecture'),
      ...(location ? { location } : {}),
    });
  }
  return packages;
}
