import type { Catalog } from '../catalog/types.js';
import { findTimings, latestDurations, readTimings } from './durations.js';
import { partitionImages, type Partition } from './partition.js';
import { selectedDag } from './selected-dag.js';

export interface ShardingRequest {
  catalog: Catalog;
  distro: string;
  /** The selection's regexes, null for every image. */
  regexes: readonly string[] | null;
  unbuildable: readonly string[];
  shards: number;
  /** Run folders or summaries given to weigh images by; when empty, the runs under `runsRoot` of this distro. */
  durationsFrom: readonly string[];
  runsRoot: string;
}

/** The selection's partition, weighed by the last recorded build of each image. */
export function planShards(request: ShardingRequest): Partition {
  const timings =
    request.durationsFrom.length > 0
      ? request.durationsFrom.map((path) => readTimings(path))
      : findTimings(request.runsRoot).filter((run) => run.distro === request.distro);
  return partitionImages({
    images: selectedDag(request.catalog, request.regexes, request.unbuildable),
    shards: request.shards,
    durations: latestDurations(timings),
  });
}
