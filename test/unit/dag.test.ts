import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDag, type DagEvent, type DagNode } from '../../src/schedule/dag.js';
import { fail, ok } from '../../src/util/result.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

// a → b → c, a → d, e (independent)
const nodes: DagNode[] = [
  { id: 'a', dependsOn: [] },
  { id: 'b', dependsOn: ['a'] },
  { id: 'c', dependsOn: ['b'] },
  { id: 'd', dependsOn: ['a'] },
  { id: 'e', dependsOn: [] },
];

describe('DAG executor', () => {
  it('runs parents before children and never more than N at once', async () => {
    const finished: string[] = [];
    let running = 0;
    let peak = 0;
    const outcomes = await runDag({
      nodes,
      concurrency: 2,
      retries: 0,
      run: async ({ id }) => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        finished.push(id);
        return ok(undefined);
      },
    });
    assert.equal(peak, 2);
    assert.ok(finished.indexOf('a') < finished.indexOf('b'));
    assert.ok(finished.indexOf('b') < finished.indexOf('c'));
    assert.ok([...outcomes.values()].every((outcome) => outcome.state === 'succeeded'));
  });

  it('starts the longest remaining chain first', async () => {
    const started: string[] = [];
    await runDag({
      nodes: [
        { id: 'short', dependsOn: [] },
        { id: 'long', dependsOn: [] },
        { id: 'long-2', dependsOn: ['long'] },
      ],
      concurrency: 1,
      retries: 0,
      run: ({ id }) => (started.push(id), Promise.resolve(ok(undefined))),
    });
    assert.deepEqual(started, ['long', 'long-2', 'short']);
  });

  it('skips the descendants of a failure, naming it, and goes on with the rest', async () => {
    const outcomes = await runDag({
      nodes,
      concurrency: 2,
      retries: 0,
      run: ({ id }) =>
        Promise.resolve(id === 'b' ? fail({ kind: 'build', reason: 'broken', retryable: true }) : ok(undefined)),
    });
    assert.deepEqual(outcomes.get('b'), { state: 'failed', kind: 'build', reason: 'broken', attempts: 1 });
    assert.deepEqual(outcomes.get('c'), { state: 'skipped', because: 'b' });
    assert.equal(outcomes.get('d')?.state, 'succeeded');
    assert.equal(outcomes.get('e')?.state, 'succeeded');
  });

  it('names the failed ancestor for deeper descendants', async () => {
    const outcomes = await runDag({
      nodes,
      concurrency: 1,
      retries: 0,
      run: ({ id }) =>
        Promise.resolve(id === 'a' ? fail({ kind: 'build', reason: 'x', retryable: false }) : ok(undefined)),
    });
    assert.deepEqual(outcomes.get('c'), { state: 'skipped', because: 'a' });
    assert.deepEqual(outcomes.get('d'), { state: 'skipped', because: 'a' });
  });

  it('retries a retryable failure, and not a final one', async () => {
    const attempts = new Map<string, number>();
    const events: Array<DagEvent<DagNode>> = [];
    const outcomes = await runDag({
      nodes: [
        { id: 'flaky', dependsOn: [] },
        { id: 'final', dependsOn: [] },
      ],
      concurrency: 1,
      retries: 2,
      onEvent: (event) => events.push(event),
      run: ({ id }, attempt) => {
        attempts.set(id, attempt);
        if (id === 'final') return Promise.resolve(fail({ kind: 'usage', reason: 'bad input', retryable: false }));
        return Promise.resolve(attempt < 3 ? fail({ kind: 'flaky', reason: 'flaky', retryable: true }) : ok(undefined));
      },
    });
    assert.equal(outcomes.get('flaky')?.state, 'succeeded');
    assert.equal(attempts.get('flaky'), 3);
    assert.deepEqual(outcomes.get('final'), { state: 'failed', kind: 'usage', reason: 'bad input', attempts: 1 });
    assert.equal(events.filter((event) => event.type === 'retrying').length, 2);
  });

  it('stops starting work once aborted and cancels what is left', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    const outcomes = await runDag({
      nodes,
      concurrency: 1,
      retries: 0,
      signal: controller.signal,
      run: ({ id }) => {
        started.push(id);
        if (id === 'a') controller.abort();
        return Promise.resolve(ok(undefined));
      },
    });
    assert.deepEqual(started, ['a']);
    for (const id of ['b', 'c', 'd', 'e']) assert.equal(outcomes.get(id)?.state, 'cancelled');
  });

  it('turns a thrown error into a failure of that node', async () => {
    const outcomes = await runDag({
      nodes: [{ id: 'x', dependsOn: [] }],
      concurrency: 1,
      retries: 3,
      run: () => Promise.reject(new Error('boom')),
    });
    assert.deepEqual(outcomes.get('x'), {
      state: 'failed',
      kind: 'internal',
      reason: 'internal error: boom',
      attempts: 1,
    });
  });

  it('hands each run and event the node itself, so callers can switch on their own node kinds', async () => {
    type Node = DagNode & ({ kind: 'base' } | { kind: 'leaf'; label: string });
    const typed: Node[] = [
      { id: 'root', dependsOn: [], kind: 'base' },
      { id: 'leaf', dependsOn: ['root'], kind: 'leaf', label: 'L' },
    ];
    const seen: string[] = [];
    const finished: string[] = [];
    await runDag<Node, never>({
      nodes: typed,
      concurrency: 1,
      retries: 0,
      run: (node) => (seen.push(node.kind === 'leaf' ? node.label : node.kind), Promise.resolve(ok(undefined))),
      onEvent: (event) => event.type === 'finished' && finished.push(`${event.node.kind}:${event.outcome.state}`),
    });
    assert.deepEqual(seen, ['base', 'L']);
    assert.deepEqual(finished, ['base:succeeded', 'leaf:succeeded']);
  });
});
