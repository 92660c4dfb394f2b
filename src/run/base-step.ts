import { ensureBaseImage } from '../bootstrap/ensure.js';
import type { Engine } from '../engine/types.js';
import type { Plan } from '../plan/plan.js';
import type { EventBus } from '../report/events.js';
import { BASE_IMAGE_LOG } from '../report/log-files.js';
import { Limiter } from '../util/limiter.js';
import { fail, ok } from '../util/result.js';
import { logTo } from './image-log.js';
import { stepFailure, type StepResult } from './run-outcomes.js';

export interface BaseStepContext {
  plan: Plan;
  engine: Engine;
  events: EventBus;
  /** Where bootstrapped root filesystems are kept, by digest. */
  cacheDir: string;
}

/**
 * The base image in the engine. `alsoOn` names a further builder of a spread run making its own copy:
 * its lines go to the base image's log, marked, and it reports no base-image events of its own.
 */
export async function prepareBase(context: BaseStepContext, signal: AbortSignal, alsoOn?: string): Promise<StepResult> {
  const { plan, events } = context;
  const reference = plan.baseImage.reference;
  const started = Date.now();
  const log = logTo(events, BASE_IMAGE_LOG);
  if (alsoOn === undefined) events.emit({ type: 'base-image', reason: 'started', reference });
  else log(`making the base image on ${alsoOn} too`);
  const result = await baseImageOnce(context.cacheDir, () =>
    ensureBaseImage(plan.baseImage, {
      engine: context.engine,
      mirrorLines: plan.bootstrapMirrorLines,
      cacheDir: context.cacheDir,
      signal,
      onLine: alsoOn === undefined ? log : (line) => log(`[${alsoOn}] ${line}`),
    }),
  );
  if (!result.ok) return fail(stepFailure(result.failure));
  const seconds = (Date.now() - started) / 1000;
  if (alsoOn === undefined) events.emit({ type: 'base-image', reason: result.value, reference, seconds });
  else log(`base image ${result.value} on ${alsoOn} (${seconds.toFixed(1)}s)`);
  return ok(undefined);
}

/** Builders making the base image share one cached root filesystem, which ensureBaseImage moves while it builds. */
const baseImageLocks = new Map<string, Limiter>();
function baseImageOnce<T>(cacheDir: string, make: () => Promise<T>): Promise<T> {
  const lock = baseImageLocks.get(cacheDir) ?? new Limiter(1);
  baseImageLocks.set(cacheDir, lock);
  return lock.add(make);
}
