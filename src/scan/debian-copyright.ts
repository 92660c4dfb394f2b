import { parseParagraphs } from './dpkg-status.js';

/** Debian's machine-readable copyright format (DEP-5), as its header names it. */
const DEP5_FORMAT = /copyright-format\/1\.0/;

/**
 * The licences a `usr/share/doc/<package>/copyright` file declares, when it is in the machine-readable
 * format: the short name of the header's and of each Files paragraph's License field (`GPL-2+`,
 * `Apache-2.0`, `BSD-3-clause or GPL-2`), each once. Undefined for a free-text copyright file.
 */
export function dep5Licenses(text: string): string[] | undefined {
  const [header, ...rest] = parseParagraphs(text);
  if (!header || !DEP5_FORMAT.test(header.get('Format') ?? '')) return undefined;
  const names = [header, ...rest.filter((paragraph) => paragraph.has('Files'))]
    .map((paragraph) => paragraph.get('License')?.split('\n')[0]?.trim())
    .filter((name): name is string => name !== undefined && name !== '');
  return [...new Set(names)];
}
