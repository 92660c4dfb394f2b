/** What the proxy served and from where; summary.json's `package_cache` (snake case, as written there). */
export interface PackageCacheCounters {
  /** Every request answered. */
  requests: number;
  /** Served from the cache without asking upstream. */
  hits: number;
  /** Served from the cache after upstream answered 304 to the stored copy's validators. */
  revalidated: number;
  /** Answered from upstream (not in the cache, changed, or never kept). */
  misses: number;
  bytes_from_upstream: number;
  bytes_from_cache: number;
}

export function zeroCounters(): PackageCacheCounters {
  return { requests: 0, hits: 0, revalidated: 0, misses: 0, bytes_from_upstream: 0, bytes_from_cache: 0 };
}

/** What was counted between two readings: one run's share of a proxy that serves several. */
export function countersSince(now: PackageCacheCounters, before: PackageCacheCounters): PackageCacheCounters {
  return {
    requests: now.requests - before.requests,
    hits: now.hits - before.hits,
    revalidated: now.revalidated - before.revalidated,
    misses: now.misses - before.misses,
    bytes_from_upstream: now.bytes_from_upstream - before.bytes_from_upstream,
    bytes_from_cache: now.bytes_from_cache - before.bytes_from_cache,
  };
}

/** One line for the end of a run. */
export function describeCounters(counters: PackageCacheCounters): string {
  const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  const { requests, hits, revalidated, misses } = counters;
  return (
    `package cache: ${requests} requests, ${hits} hits, ${revalidated} revalidated, ${misses} misses; ` +
    `${mib(counters.bytes_from_upstream)} from upstream, ${mib(counters.bytes_from_cache)} from the cache`
  );
}
