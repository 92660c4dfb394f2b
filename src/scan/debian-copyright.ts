/** Debian's machine-readable copyright format (DEP-5), as its header names it. */
const DEP5_FORMAT = /^Format:.*copyright-format\/1\.0/m;
const FILES_FIELD = /^Files:/m;
const LICENSE_FIELD = /^License:[ \t]*(\S.*?)[ \t]*$/m;

/**
 * The licences a `usr/share/doc/<package>/copyright` file declares, when it is in the machine-readable
 * format: the short name of the header's and of each Files paragraph's License field (`GPL-2+`,
 * `Apache-2.0`, `BSD-3-clause or GPL-2`), each once. Undefined for a free-text copyright file.
 * Paragraphs are found by pattern rather than parsed field by field: these files hold whole licence
 * texts (13 MB over an OpenStack image's 600 packages), of which only these lines matter.
 */
export function dep5Licenses(content: Buffer): string[] | undefined {
  // The header alone says whether the rest is worth decoding: many copyright files are free text.
  const headerEnd = content.indexOf('\n\n');
  if (!DEP5_FORMAT.test(content.toString('utf8', 0, headerEnd < 0 ? content.length : headerEnd))) return undefined;
  const [header = '', ...rest] = content.toString('utf8').split(/\n[ \t]*\n/);
  const names = [header, ...rest.filter((paragraph) => FILES_FIELD.test(paragraph))]
    .map((paragraph) => LICENSE_FIELD.exec(paragraph)?.[1])
    .filter((name): name is string => name !== undefined);
  return [...new Set(names)];
}
