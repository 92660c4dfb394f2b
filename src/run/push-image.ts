import type { Engine, EngineFailure } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import type { EventBus, PushFailureStatus } from '../report/events.js';
import { fail, ok, type Result } from '../util/result.js';
import { alreadyPushed } from './already-pushed.js';
import { logTo } from './image-log.js';
import type { RegistryLogin } from './registry-auth.js';
import { pushFailureStatus } from './run-graph.js';

export interface PushSettings {
  threads: number;
  attempts: number;
  /** First wait between attempts; doubled each time. */
  backoffMs: number;
  insecure: boolean;
  /** The engines' auth file for the registry. */
  authFile?: string;
  /** The same login, for asking the registry before a push. */
  login?: RegistryLogin;
  /** How long a builder waits for a parent built elsewhere to appear in the registry. */
  handOffTimeoutMs?: number;
}

export interface PushOutcome {
  name: string;
  reference: string;
  result: Result<void, { status: PushFailureStatus; message: string }>;
  /** The builder holding the image was lost during the push: the image is built and pushed again elsewhere. */
  builderLost?: true;
}

/** Where a push happens: the engine holding the image, and the run's events and signal. */
export interface PushContext {
  engine: Engine;
  events: EventBus;
  signal: AbortSignal;
}

/**
 * Pushes with retries; every way it can end is an event and an outcome, a failure included. On a spread
 * run, a push that cannot reach its builder's engine asks `stillThere`: a lost builder ends it quietly.
 */
export async function pushImage(
  context: PushContext,
  image: PlannedImage,
  settings: PushSettings,
  mountFrom: readonly string[],
  stillThere?: () => Promise<boolean>,
): Promise<PushOutcome> {
  const { events, signal } = context;
  const { name, reference } = image;
  const started = Date.now();
  let last: EngineFailure = { kind: 'interrupted', message: 'interrupted' };
  let attempts = 0;
  for (let attempt = 1; attempt <= settings.attempts && !signal.aborted; attempt++) {
    if (attempt > 1) {
      events.emit({ type: 'push', reason: 'retrying', name, attempt, message: last.message });
      await sleep(settings.backoffMs * 2 ** (attempt - 2), signal);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it can turn true during the sleep
      if (signal.aborted) break;
    }
    attempts = attempt;
    if (await alreadyPushed(context.engine, reference, settings)) {
      const seconds = (Date.now() - started) / 1000;
      events.emit({ type: 'push', reason: 'pushed', name, reference, seconds, attempts: attempt - 1, already: true });
      return { name, reference, result: ok(undefined) };
    }
    events.emit({ type: 'push', reason: 'started', name, reference, attempt });
    const result = await context.engine.push({
      reference,
      insecure: settings.insecure,
      signal,
      onLine: logTo(events, name),
      mountFrom,
      ...(settings.authFile ? { authFile: settings.authFile } : {}),
      ...(settings.login ? { login: settings.login } : {}),
    });
    if (result.ok) {
      const seconds = (Date.now() - started) / 1000;
      events.emit({ type: 'push', reason: 'pushed', name, reference, seconds, attempts: attempt });
      return { name, reference, result: ok(undefined) };
    }
    last = result.failure;
    if (last.kind === 'connection' && stillThere && !(await stillThere())) {
      return {
        name,
        reference,
        result: fail({ status: 'connection_error', message: last.message }),
        builderLost: true,
      };
    }
  }
  const failure: EngineFailure = signal.aborted ? { kind: 'interrupted', message: 'interrupted' } : last;
  const status = pushFailureStatus(failure.kind);
  events.emit({ type: 'push', reason: 'failed', name, reference, status, message: failure.message, attempts });
  return { name, reference, result: fail({ status, message: failure.message }) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
