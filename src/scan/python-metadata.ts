import type { InstalledPackage } from './types.js';

/** PEP 503's normal form: lower case, runs of `-`, `_` and `.` as one `-`. Two spellings of one distribution compare equal in it. */
export function normalisePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * The licences a distribution declares in a machine-readable form: PEP 639's License-Expression (an
 * SPDX expression) when present, else its trove classifiers' licence names. The free-text License
 * field is left out: it is often a whole licence text.
 */
function declaredLicenses(expression: string | undefined, classifiers: readonly string[]): string[] {
  if (expression) return [expression];
  const names = classifiers
    .map((classifier) => /^License :: (?:OSI Approved :: )?(.+)$/.exec(classifier)?.[1]?.trim())
    .filter((name): name is string => name !== undefined && name !== '' && name !== 'OSI Approved');
  return [...new Set(names)];
}

/**
 * A distribution from its METADATA / PKG-INFO header block (up to the first blank line), named as it
 * declares itself (`oslo.config`, as the purl spec keeps it); `location` is its .dist-info or .egg-info.
 */
export function parsePythonMetadata(text: string, location: string): InstalledPackage | undefined {
  let name: string | undefined;
  let version: string | undefined;
  let expression: string | undefined;
  const classifiers: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') break;
    const match = /^([A-Za-z-]+):\s*(.*?)\s*$/.exec(line);
    const key = match?.[1]?.toLowerCase();
    const value = match?.[2] ?? '';
    if (key === 'name') name ??= value;
    else if (key === 'version') version ??= value;
    else if (key === 'license-expression') expression ??= value;
    else if (key === 'classifier') classifiers.push(value);
  }
  if (!name || !version) return undefined;
  const licenses = declaredLicenses(expression, classifiers);
  return {
    type: 'pypi',
    name,
    version,
    sourceName: name,
    sourceVersion: version,
    location,
    ...(licenses.length > 0 ? { licenses } : {}),
  };
}

const DIST_INFO = '.dist-info';

/**
 * One distribution per site-packages folder and name: a distribution installed with both a .dist-info
 * and an .egg-info (as some Debian packages ship it) is one, and the .dist-info is the record that wins.
 * The same name in two folders (the system and a venv) stays two installations.
 */
export function oneRecordPerDistribution(distributions: readonly InstalledPackage[]): InstalledPackage[] {
  const chosen = new Map<string, InstalledPackage>();
  for (const distribution of distributions) {
    const location = distribution.location ?? '';
    const folder = location.slice(0, location.lastIndexOf('/') + 1);
    const key = `${folder}\0${normalisePythonName(distribution.name)}`;
    const held = chosen.get(key);
    if (!held || (!held.location?.endsWith(DIST_INFO) && location.endsWith(DIST_INFO))) chosen.set(key, distribution);
  }
  return [...chosen.values()];
}
