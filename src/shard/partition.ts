/** One image of the selected DAG: its parent, when the parent is selected too, is built before it. */
export interface ShardableImage {
  name: string;
  parent: string | null;
}

export interface PartitionRequest {
  images: readonly ShardableImage[];
  shards: number;
  /** Seconds each image took to build last time; images without one are estimated. */
  durations: ReadonlyMap<string, number>;
}

export interface Shard {
  /** Parents before children. */
  images: string[];
  seconds: number;
}

export interface Partition {
  shards: Shard[];
  /** `image count` when no image has a recorded duration: every image then weighs one. */
  estimatedBy: 'durations' | 'image count';
  meanSeconds: number;
  /** The largest shard over the mean (1 is perfect balance). */
  maxOverMean: number;
  /** The longest parent-to-child chain: shards in parallel cannot finish before it. */
  longestChain: { images: string[]; seconds: number };
  /** Why the balance is what it is, when it is worse than BALANCE_GOAL or bounded by the DAG's shape. */
  notes: string[];
}

/** The largest shard the partition aims to keep within, as a multiple of the mean. */
export const BALANCE_GOAL = 1.3;

/**
 * Pure: splits the images into `shards` shards so that each image is in exactly one, a parent is never
 * in a later shard than its child (shards run in order complete, or side by side waiting only for the
 * parents of earlier shards), and the largest shard is as small as a cut of the DAG's depth-first order
 * (parents first, siblings by name) allows. The depth-first order keeps subtrees together, so few
 * parents cross shards. Equal inputs give equal partitions.
 */
export function partitionImages(request: PartitionRequest): Partition {
  const { shards: count } = request;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shards must be a whole number >= 1, not ${count}`);
  const order = depthFirstOrder(request.images);
  const { weights, estimatedBy } = imageWeights(order, request.durations);
  const cuts = order.length <= count ? order.map((_, index) => index + 1) : balancedCuts(weights, count);
  const shards: Shard[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const end = cuts[index] ?? start;
    const images = order.slice(start, end);
    shards.push({ images, seconds: round(sum(weights.slice(start, end))) });
    start = end;
  }
  const total = sum(weights);
  const meanSeconds = round(total / count);
  const largest = Math.max(...shards.map((shard) => shard.seconds));
  const maxOverMean = total === 0 ? 1 : round(largest / (total / count));
  const longestChain = heaviestChain(request.images, new Map(order.map((name, index) => [name, weights[index] ?? 0])));
  const notes = balanceNotes({ order, weights, count, meanSeconds, maxOverMean, longestChain, estimatedBy });
  return { shards, estimatedBy, meanSeconds, maxOverMean, longestChain, notes };
}

/** Parents first; roots, then each parent's children, by name. */
function depthFirstOrder(images: readonly ShardableImage[]): string[] {
  const names = new Set(images.map((image) => image.name));
  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const image of images) {
    if (image.parent !== null && names.has(image.parent)) {
      children.set(image.parent, [...(children.get(image.parent) ?? []), image.name]);
    } else roots.push(image.name);
  }
  const order: string[] = [];
  // A stack of names still to visit, the next one last.
  const stack = [...roots].sort(byName).reverse();
  for (let name = stack.pop(); name !== undefined; name = stack.pop()) {
    order.push(name);
    stack.push(...[...(children.get(name) ?? [])].sort(byName).reverse());
  }
  return order;
}

/** Recorded seconds; an image without them weighs the median of those recorded (one each when none is). */
function imageWeights(order: readonly string[], durations: ReadonlyMap<string, number>) {
  const known = order.map((name) => durations.get(name)).filter((seconds): seconds is number => seconds !== undefined);
  if (known.length === 0) return { weights: order.map(() => 1), estimatedBy: 'image count' as const };
  const sorted = [...known].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  const weights = order.map((name) => Math.max(0, durations.get(name) ?? median));
  return { weights, estimatedBy: 'durations' as const };
}

/**
 * The ends of `count` non-empty consecutive runs of the weights whose largest sum is the smallest
 * possible (dynamic programming over cut points; the earliest cut wins a tie, for stability).
 */
function balancedCuts(weights: readonly number[], count: number): number[] {
  const length = weights.length;
  const prefix = [0];
  for (const weight of weights) prefix.push((prefix.at(-1) ?? 0) + weight);
  const span = (from: number, to: number) => (prefix[to] ?? 0) - (prefix[from] ?? 0);
  // best[j][i]: the smallest largest sum of the first i weights in j runs; cut[j][i]: where the last run starts.
  const best: number[][] = [prefix.map((_, i) => (i === 0 ? 0 : Infinity))];
  const cut: number[][] = [prefix.map(() => 0)];
  for (let runs = 1; runs <= count; runs++) {
    const previous = best[runs - 1] ?? [];
    const row: number[] = [];
    const from: number[] = [];
    for (let end = 0; end <= length; end++) {
      let value = Infinity;
      let at = 0;
      for (let start = runs - 1; start < end; start++) {
        const candidate = Math.max(previous[start] ?? Infinity, span(start, end));
        if (candidate < value) [value, at] = [candidate, start];
      }
      row.push(value);
      from.push(at);
    }
    best.push(row);
    cut.push(from);
  }
  const ends: number[] = [];
  for (let runs = count, end = length; runs >= 1; runs--) {
    ends.unshift(end);
    end = cut[runs]?.[end] ?? 0;
  }
  return ends;
}

function heaviestChain(images: readonly ShardableImage[], weight: ReadonlyMap<string, number>) {
  const parentOf = new Map(images.map((image) => [image.name, image.parent]));
  let longest = { images: [] as string[], seconds: 0 };
  for (const image of [...images].sort((a, b) => byName(a.name, b.name))) {
    const chain: string[] = [];
    for (let name: string | null | undefined = image.name; name != null && weight.has(name); name = parentOf.get(name))
      chain.unshift(name);
    const seconds = round(sum(chain.map((name) => weight.get(name) ?? 0)));
    if (seconds > longest.seconds) longest = { images: chain, seconds };
  }
  return longest;
}

interface BalanceFacts {
  order: readonly string[];
  weights: readonly number[];
  count: number;
  meanSeconds: number;
  maxOverMean: number;
  longestChain: Partition['longestChain'];
  estimatedBy: Partition['estimatedBy'];
}

function balanceNotes(facts: BalanceFacts): string[] {
  const { order, weights, count, meanSeconds, maxOverMean, longestChain } = facts;
  const unit = facts.estimatedBy === 'durations' ? ' s' : ' image(s)';
  const notes: string[] = [];
  if (order.length < count) notes.push(`${order.length} image(s) for ${count} shards: some shards are empty`);
  else if (maxOverMean > BALANCE_GOAL) {
    const heaviest = weights.reduce((top, weight, index) => (weight > (weights[top] ?? 0) ? index : top), 0);
    notes.push(
      `the largest shard is ${maxOverMean}× the mean, over the ${BALANCE_GOAL}× goal: the images are too coarse ` +
        `for ${count} shards (${order[heaviest]} alone takes ${round(weights[heaviest] ?? 0)}${unit}, ` +
        `the mean is ${meanSeconds}${unit})`,
    );
  }
  if (count > 1 && longestChain.seconds > meanSeconds) {
    notes.push(
      `the chain ${longestChain.images.join(' → ')} takes ${longestChain.seconds}${unit}, more than the mean ` +
        `${meanSeconds}${unit}: shards side by side cannot finish sooner than it`,
    );
  }
  return notes;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const round = (value: number) => Math.round(value * 1000) / 1000;
