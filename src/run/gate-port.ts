import type { Engine } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';

/** Whether an image that now exists may go to the registry (a scan, in the pipeline). */
export interface GateDecision {
  push: boolean;
}

/**
 * The port a run offers for a policy between "built" and "pushed" (the pipeline's scan gate plugs in).
 * Called once per image after it was built or reused, before its push is queued, with the engine that
 * holds the image. It runs beside the build of other images (children do not wait for it, except on a
 * run over several builders, where the registry hands images over); a held image is simply not pushed.
 */
export type ImageGate = (image: PlannedImage, signal: AbortSignal, engine: Engine) => Promise<GateDecision>;
