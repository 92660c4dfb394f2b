import type { Result } from '../util/result.js';

export interface DagNode {
  id: string;
  /** Nodes that must succeed before this one starts. */
  dependsOn: readonly string[];
}

/** Why a node failed: `kind` is the caller's own classification, kept in the outcome. */
export interface NodeFailure<K extends string> {
  kind: K;
  reason: string;
  retryable: boolean;
}

/** A node's run threw: a bug, kept apart from the failures the caller expects. */
export const INTERNAL_FAILURE = 'internal';

export type NodeOutcome<K extends string = string> =
  | { state: 'succeeded' }
  | { state: 'failed'; kind: K | typeof INTERNAL_FAILURE; reason: string; attempts: number }
  /** Never ran because `because`, an ancestor, failed. */
  | { state: 'skipped'; because: string }
  | { state: 'cancelled' };

export type DagEvent<N extends DagNode, K extends string = string> =
  | { type: 'started'; id: string; node: N; attempt: number }
  | { type: 'retrying'; id: string; node: N; attempt: number; kind: K; reason: string }
  | { type: 'finished'; id: string; node: N; outcome: NodeOutcome<K> };

export interface DagOptions<N extends DagNode, K extends string> {
  nodes: readonly N[];
  concurrency: number;
  /** Extra attempts after a failure. */
  retries: number;
  run: (node: N, attempt: number, signal: AbortSignal) => Promise<Result<void, NodeFailure<K>>>;
  onEvent?: (event: DagEvent<N, K>) => void;
  signal?: AbortSignal;
}

/**
 * Runs a dependency graph: parents before children, N at a time, longest remaining
 * chain first. A failure skips exactly its descendants; unrelated nodes go on.
 */
export async function runDag<N extends DagNode, K extends string>(
  options: DagOptions<N, K>,
): Promise<Map<string, NodeOutcome<K>>> {
  const nodes = new Map(options.nodes.map((node) => [node.id, node]));
  const children = new Map<string, string[]>();
  for (const node of options.nodes) {
    for (const parent of node.dependsOn) {
      if (!nodes.has(parent)) throw new Error(`node ${node.id} depends on unknown node ${parent}`);
      children.set(parent, [...(children.get(parent) ?? []), node.id]);
    }
  }
  const priority = chainLengths(options.nodes, children);
  const outcomes = new Map<string, NodeOutcome<K>>();
  const waitingOn = new Map(options.nodes.map((node) => [node.id, new Set(node.dependsOn)]));
  const ready: string[] = options.nodes.filter((node) => node.dependsOn.length === 0).map((node) => node.id);
  const running = new Set<Promise<void>>();
  const signal = options.signal ?? new AbortController().signal;
  const nodeOf = (id: string): N => {
    const node = nodes.get(id);
    if (node === undefined) throw new Error(`internal: unknown node ${id}`);
    return node;
  };

  const finish = (id: string, outcome: NodeOutcome<K>) => {
    outcomes.set(id, outcome);
    options.onEvent?.({ type: 'finished', id, node: nodeOf(id), outcome });
    for (const child of children.get(id) ?? []) {
      if (outcomes.has(child)) continue;
      if (outcome.state === 'succeeded') {
        const pending = waitingOn.get(child);
        pending?.delete(id);
        if (pending?.size === 0) ready.push(child);
      } else if (outcome.state === 'cancelled') {
        finish(child, { state: 'cancelled' });
      } else {
        finish(child, { state: 'skipped', because: outcome.state === 'skipped' ? outcome.because : id });
      }
    }
  };

  const execute = async (id: string) => {
    const node = nodeOf(id);
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return finish(id, { state: 'cancelled' });
      options.onEvent?.({ type: 'started', id, node, attempt });
      let result: Result<void, NodeFailure<K>>;
      try {
        result = await options.run(node, attempt, signal);
      } catch (error) {
        const reason = `internal error: ${(error as Error).message}`;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can turn true while run() is awaited
        if (signal.aborted) return finish(id, { state: 'cancelled' });
        return finish(id, { state: 'failed', kind: INTERNAL_FAILURE, reason, attempts: attempt });
      }
      if (result.ok) return finish(id, { state: 'succeeded' });
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can turn true while run() is awaited
      if (signal.aborted) return finish(id, { state: 'cancelled' });
      const { kind, reason, retryable } = result.failure;
      if (!retryable || attempt > options.retries) {
        return finish(id, { state: 'failed', kind, reason, attempts: attempt });
      }
      options.onEvent?.({ type: 'retrying', id, node, attempt: attempt + 1, kind, reason });
    }
  };

  while (ready.length > 0 || running.size > 0) {
    if (signal.aborted) {
      for (const id of ready.splice(0)) finish(id, { state: 'cancelled' });
    }
    ready.sort((a, b) => (priority.get(b) ?? 0) - (priority.get(a) ?? 0) || a.localeCompare(b));
    while (running.size < options.concurrency && ready.length > 0) {
      const id = ready.shift() as string;
      const task: Promise<void> = execute(id).finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size > 0) await Promise.race(running);
  }
  for (const id of nodes.keys()) if (!outcomes.has(id)) finish(id, { state: 'cancelled' });
  return outcomes;
}

/** Length of the longest chain of descendants below each node, itself included. */
function chainLengths(nodes: readonly DagNode[], children: Map<string, string[]>): Map<string, number> {
  const lengths = new Map<string, number>();
  const length = (id: string): number => {
    const known = lengths.get(id);
    if (known !== undefined) return known;
    const value = 1 + Math.max(0, ...(children.get(id) ?? []).map(length));
    lengths.set(id, value);
    return value;
  };
  for (const node of nodes) length(node.id);
  return lengths;
}
