import type { EngineFailure } from '../engine/types.js';
import type { Plan } from '../plan/plan.js';
import type { BuildFailureStatus, EventBus, FailureStatus } from '../report/events.js';
import { INTERNAL_FAILURE, type NodeFailure, type NodeOutcome } from '../schedule/dag.js';
import type { Result } from '../util/result.js';
import type { PushOutcome } from './push-image.js';
import { buildFailureStatus, type RunNode } from './run-graph.js';

export type RunExitCode = 0 | 1 | 130;

/** How one step of a node (base image, image) failed, as the scheduler retries or reports it. */
export type StepFailure = NodeFailure<BuildFailureStatus>;
export type StepResult = Result<void, StepFailure>;

export function stepFailure(failure: EngineFailure): StepFailure {
  const kind = buildFailureStatus(failure.kind);
  return { kind, reason: failure.message, retryable: kind !== 'interrupted' };
}

/** From what the scheduler and the pushes say happened, never from what a reporter made of it. */
export function runExitCode(
  outcomes: ReadonlyMap<string, NodeOutcome>,
  pushes: readonly PushOutcome[],
  interrupted: boolean,
): RunExitCode {
  if (interrupted) return 130;
  const nodeFailed = [...outcomes.values()].some((outcome) => outcome.state !== 'succeeded');
  return nodeFailed || pushes.some((push) => !push.result.ok) ? 1 : 0;
}

export function reportRetry(events: EventBus, node: RunNode, attempt: number, message: string): void {
  switch (node.kind) {
    case 'image':
      events.emit({ type: 'image', reason: 'retrying', name: node.id, attempt, message });
      return;
    case 'base-image':
      events.emit({ type: 'warning', message: `base image ${node.id}: attempt ${attempt} after: ${message}` });
      return;
    default: {
      const never: never = node;
      return never;
    }
  }
}

/** A node's final outcome, as the events reporters and the summary know. */
export function reportOutcome(
  events: EventBus,
  plan: Plan,
  node: RunNode,
  outcome: NodeOutcome<BuildFailureStatus>,
  attempts: number,
): void {
  const failed = failureOf(plan, outcome, attempts);
  if (failed === undefined) return;
  const { message } = failed;
  switch (node.kind) {
    case 'image':
      events.emit({ type: 'image', reason: 'failed', name: node.id, ...failed });
      return;
    case 'base-image': {
      // The base image has no parent: it fails by itself or is interrupted, never parent_error.
      const status = failed.status === 'parent_error' ? 'error' : failed.status;
      events.emit({ type: 'base-image', reason: 'failed', reference: node.id, status, message });
      return;
    }
    default: {
      const never: never = node;
      return never;
    }
  }
}

/** The status, message and attempts of a node that did not succeed; undefined when it did. */
function failureOf(
  plan: Plan,
  outcome: NodeOutcome<BuildFailureStatus>,
  attempts: number,
): { status: Exclude<FailureStatus, 'push_error'>; message: string; attempts: number } | undefined {
  switch (outcome.state) {
    case 'succeeded':
      return undefined;
    case 'failed':
      return { status: outcome.kind === INTERNAL_FAILURE ? 'error' : outcome.kind, message: outcome.reason, attempts };
    case 'skipped': {
      // Never started: its parent (or the base image) failed first.
      const what = outcome.because === plan.baseImage.reference ? 'base image' : 'parent';
      return { status: 'parent_error', message: `${what} ${outcome.because} failed`, attempts: 0 };
    }
    case 'cancelled':
      return { status: 'interrupted', message: 'interrupted', attempts };
    default: {
      const never: never = outcome;
      return never;
    }
  }
}
