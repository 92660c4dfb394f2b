/** rpm's ordering: rpmvercmp on segments, `~` before everything, `^` after the end but before more. */
const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
const isLetter = (char: string | undefined) => char !== undefined && /^[A-Za-z]$/.test(char);
const isSegmentChar = (char: string | undefined) => isDigit(char) || isLetter(char) || char === '~' || char === '^';

export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isSegmentChar(a[i])) i++;
    while (j < b.length && !isSegmentChar(b[j])) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const inSegment = numeric ? isDigit : isLetter;
    let endA = i;
    let endB = j;
    while (endA < a.length && inSegment(a[endA])) endA++;
    while (endB < b.length && inSegment(b[endB])) endB++;
    // A numeric segment beats an alphabetic one.
    if (endB === j) return numeric ? 1 : -1;
    let left = a.slice(i, endA);
    let right = b.slice(j, endB);
    if (numeric) {
      left = left.replace(/^0+/, '');
      right = right.replace(/^0+/, '');
      if (left.length !== right.length) return left.length > right.length ? 1 : -1;
    }
    if (left !== right) return left < right ? -1 : 1;
    i = endA;
    j = endB;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

export interface RpmEvr {
  epoch: number;
  version: string;
  release: string;
}

/** `[epoch:]version[-release]`; the release is what follows the last hyphen. */
export function parseRpmEvr(text: string): RpmEvr {
  const colon = text.indexOf(':');
  const epochText = colon >= 0 ? text.slice(0, colon) : '';
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const hyphen = rest.lastIndexOf('-');
  return {
    epoch: /^\d+$/.test(epochText) ? Number(epochText) : 0,
    version: hyphen >= 0 ? rest.slice(0, hyphen) : rest,
    release: hyphen >= 0 ? rest.slice(hyphen + 1) : '',
  };
}

/** Epoch, then version, then release; a missing release matches any (as rpm does when one side has none). */
export function compareRpmVersions(a: string, b: string): number {
  const left = parseRpmEvr(a);
  const right = parseRpmEvr(b);
  if (left.epoch !== right.epoch) return Math.sign(left.epoch - right.epoch);
  const version = rpmvercmp(left.version, right.version);
  if (version !== 0 || left.release === '' || right.release === '') return version;
  return rpmvercmp(left.release, right.release);
}
