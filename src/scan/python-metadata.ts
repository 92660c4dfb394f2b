import type { InstalledPackage } from './types.js';

/** PEP 503's normal form: lower case, runs of `-`, `_` and `.` as one `-`. */
export function normalisePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** A package from a METADATA / PKG-INFO file: its header block, up to the first blank line. */
export function parsePythonMetadata(text: string, location: string): InstalledPackage | undefined {
  let name: string | undefined;
  let version: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') break;
    const match = /^(Name|Version):\s*(.+?)\s*$/i.exec(line);
    if (match?.[1]?.toLowerCase() === 'name') name ??= match[2];
    if (match?.[1]?.toLowerCase() === 'version') version ??= match[2];
  }
  if (!name || !version) return undefined;
  const normal = normalisePythonName(name);
  return { type: 'pypi', name: normal, version, sourceName: normal, sourceVersion: version, location };
}
