/** Python package versions (PEP 440): epoch, release, pre-release, post-release, dev-release. */
const PATTERN = new RegExp(
  [
    '^v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)',
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\\d*))?',
    '(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d*))?',
    '(?:[-_.]?dev[-_.]?(\\d*))?',
    '(?:\\+[a-z0-9._-]+)?$',
  ].join(''),
  'i',
);

interface Pep440Key {
  epoch: number;
  release: number[];
  /** [phase, number]; phase -1 a dev-only release before every pre-release, 3 none (a final release). */
  pre: [number, number];
  post: number;
  dev: number;
}

const PRE_PHASE: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

function parse(text: string): Pep440Key | undefined {
  const match = PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, epoch, release = '0', preLabel, preNumber, postShort, postLabel, postNumber, dev] = match;
  const numbers = release.split('.').map(Number);
  while (numbers.length > 1 && numbers[numbers.length - 1] === 0) numbers.pop();
  const hasPost = postShort !== undefined || postLabel !== undefined;
  const hasDev = dev !== undefined;
  const pre: [number, number] =
    preLabel !== undefined
      ? [PRE_PHASE[preLabel.toLowerCase()] ?? 2, Number(preNumber || 0)]
      : !hasPost && hasDev
        ? [-1, 0]
        : [3, 0];
  return {
    epoch: Number(epoch ?? 0),
    release: numbers,
    pre,
    post: hasPost ? Number(postShort ?? (postNumber || 0)) : -1,
    dev: hasDev ? Number(dev || 0) : Number.POSITIVE_INFINITY,
  };
}

export function comparePep440Versions(a: string, b: string): number {
  const left = parse(a);
  const right = parse(b);
  if (!left || !right) return a === b ? 0 : a < b ? -1 : 1;
  if (left.epoch !== right.epoch) return Math.sign(left.epoch - right.epoch);
  const length = Math.max(left.release.length, right.release.length);
  for (let index = 0; index < length; index++) {
    const difference = (left.release[index] ?? 0) - (right.release[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  const pairs = [
    [left.pre[0], right.pre[0]],
    [left.pre[1], right.pre[1]],
    [left.post, right.post],
    [left.dev, right.dev],
  ] as const;
  for (const [x, y] of pairs) {
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
