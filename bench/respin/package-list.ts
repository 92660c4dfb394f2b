import { readFileSync } from 'node:fs';
import { DEBIAN_PACKAGE_NAME } from '../../test/helpers/snapshot-repos.js';

/** The bundled library's package list: one name a line; `#` lines say how it was made. */
export const LIBRARY_PACKAGES = new URL('./library-packages.txt', import.meta.url);

export function readPackageList(file: URL | string): string[] {
  const names = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const bad = names.find((name) => !DEBIAN_PACKAGE_NAME.test(name));
  if (bad !== undefined) throw new Error(`${String(file)}: not a Debian package name: ${JSON.stringify(bad)}`);
  return names;
}

export function formatPackageList(header: readonly string[], names: Iterable<string>): string {
  const sorted = [...new Set(names)].sort();
  return `${[...header.map((line) => `# ${line}`), ...sorted].join('\n')}\n`;
}
