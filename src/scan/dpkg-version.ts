/**
 * Debian version ordering (Debian Policy 5.6.12): `[epoch:]upstream[-revision]`, epochs
 * numerically, then upstream and revision with dpkg's verrevcmp.
 */
export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDpkgVersion(text: string): DpkgVersion {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const epochText = colon >= 0 ? trimmed.slice(0, colon) : '';
  const epoch = /^\d+$/.test(epochText) ? Number(epochText) : 0;
  const rest = colon >= 0 ? trimmed.slice(colon + 1) : trimmed;
  const hyphen = rest.lastIndexOf('-');
  return hyphen >= 0
    ? { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) }
    : { epoch, upstream: rest, revision: '' };
}

const isDigit = (code: number) => code >= 48 && code <= 57;
const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

/** A character's weight in a non-digit run: `~` before the end, the end before letters, letters before the rest. */
function order(text: string, index: number): number {
  if (index >= text.length) return 0;
  const code = text.charCodeAt(index);
  if (isDigit(code)) return 0;
  if (isLetter(code)) return code;
  if (code === 126) return -1;
  return code + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const difference = order(a, i) - order(b, j);
      if (difference !== 0) return difference;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDifference = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDifference !== 0) return firstDifference;
  }
  return 0;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareDpkgVersions(a: string, b: string): number {
  const left = parseDpkgVersion(a);
  const right = parseDpkgVersion(b);
  if (left.epoch !== right.epoch) return left.epoch - right.epoch;
  return Math.sign(verrevcmp(left.upstream, right.upstream)) || Math.sign(verrevcmp(left.revision, right.revision));
}
