import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { parseJsonInput } from '../util/json-input.js';
import { firstIssue } from '../util/key-path.js';
import { MiB, readInputTextSync } from '../util/read-input.js';
import type { Partition } from './partition.js';

/** Which of how many shards a run is: `2/3` is { index: 2, count: 3 }. */
export interface ShardChoice {
  index: number;
  count: number;
}

export const shardLabel = (choice: ShardChoice): string => `${choice.index}/${choice.count}`;

/** `k/n` with 1 <= k <= n, or undefined. */
export function parseShardLabel(text: string): ShardChoice | undefined {
  const parts = /^([1-9]\d{0,3})\/([1-9]\d{0,3})$/.exec(text);
  if (!parts) return undefined;
  const choice = { index: Number(parts[1]), count: Number(parts[2]) };
  return choice.index <= choice.count ? choice : undefined;
}

/** What `shard plan --json` prints and `--shard-plan` reads: the shards (a CI matrix), and how they were weighed. */
export interface ShardPlanDocument {
  distro: string;
  shards: Array<{ shard: string; images: string[]; seconds: number }>;
  estimated_by: Partition['estimatedBy'];
  mean_seconds: number;
  max_over_mean: number;
  longest_chain: { images: string[]; seconds: number };
  notes: string[];
}

export function shardPlanDocument(distro: string, partition: Partition): ShardPlanDocument {
  const count = partition.shards.length;
  return {
    distro,
    shards: partition.shards.map((shard, index) => ({
      shard: shardLabel({ index: index + 1, count }),
      images: shard.images,
      seconds: shard.seconds,
    })),
    estimated_by: partition.estimatedBy,
    mean_seconds: partition.meanSeconds,
    max_over_mean: partition.maxOverMean,
    longest_chain: partition.longestChain,
    notes: partition.notes,
  };
}

const planFileSchema = z.object({
  distro: z.string().optional(),
  shards: z
    .array(z.looseObject({ shard: z.string(), images: z.array(z.string().min(1)) }))
    .min(1, 'at least one shard'),
});

/** The shard (1-based) that builds each image, as a plan file gives it; one clear line for a bad file. */
export interface ShardOwners {
  count: number;
  distro?: string;
  ownerOf: ReadonlyMap<string, number>;
}

/** A plan names every image once: kilobytes, a few MiB for the largest trees. */
const SHARD_PLAN_LIMITS = { what: 'shard plan', maxBytes: 16 * MiB } as const;

export function readShardPlanFile(file: string): ShardOwners {
  let json: unknown;
  try {
    json = parseJsonInput(
      readInputTextSync(file, SHARD_PLAN_LIMITS),
      file,
      'shard plan (the output of shard plan --json)',
    );
  } catch (error) {
    throw error instanceof UsageError ? new UsageError(`--shard-plan ${error.message}`) : error;
  }
  const parsed = planFileSchema.safeParse(json);
  if (!parsed.success) {
    const { where, problem } = firstIssue(parsed.error);
    throw new UsageError(`--shard-plan ${file}: ${where || '(top level)'}: ${problem}`);
  }
  const { shards, distro } = parsed.data;
  const ownerOf = new Map<string, number>();
  for (const [position, entry] of shards.entries()) {
    const choice = parseShardLabel(entry.shard);
    if (choice?.index !== position + 1 || choice.count !== shards.length) {
      throw new UsageError(
        `--shard-plan ${file}: shards.${position}.shard: expected "${position + 1}/${shards.length}", ` +
          `not ${JSON.stringify(entry.shard)}`,
      );
    }
    for (const name of entry.images) {
      const other = ownerOf.get(name);
      if (other !== undefined) {
        throw new UsageError(`--shard-plan ${file}: ${name} is in shard ${other} and shard ${choice.index}`);
      }
      ownerOf.set(name, choice.index);
    }
  }
  return { count: shards.length, ownerOf, ...(distro !== undefined ? { distro } : {}) };
}

/** The owners a partition gives, as a plan file would. */
export function ownersOfPartition(partition: Partition): ShardOwners {
  const ownerOf = new Map<string, number>();
  partition.shards.forEach((shard, index) => shard.images.forEach((name) => ownerOf.set(name, index + 1)));
  return { count: partition.shards.length, ownerOf };
}
