import type { Engine, EngineFailure, MountedImage } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import type { Result } from '../util/result.js';

/** Whether an image that now exists may go to the registry (a scan, in the pipeline). */
export interface GateDecision {
  push: boolean;
}

/**
 * An image composed at the registry (respin.compose registry), before any of it is pushed: it is in no store, so
 * the gate reads its root as the composition left it, mounted read-only, and names it by the digest its manifest
 * will have once pushed.
 */
export interface ComposedImage {
  mount: () => Promise<Result<MountedImage, EngineFailure>>;
  digest: string;
}

/**
 * The port a run offers for a policy between "built" and "pushed" (the pipeline's scan gate plugs in).
 * Called once per image after it was built or reused, before its push is queued, with the engine that
 * holds the image; for an image composed at the registry, with that image instead, before its push (only a
 * gate that `readsComposedRoots` is asked: with another, the run stacks in the store). It runs beside the
 * build of other images (children do not wait for it, except on a run over several builders, where the
 * registry hands images over, and a child composed onto its parent); a held image is simply not pushed.
 */
export type ImageGate = ((
  image: PlannedImage,
  signal: AbortSignal,
  engine: Engine,
  composed?: ComposedImage,
) => Promise<GateDecision>) & { readonly readsComposedRoots?: boolean };
