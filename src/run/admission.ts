import type { Plan, PlannedImage } from '../plan/plan.js';
import { Limiter } from '../util/limiter.js';
import { ok } from '../util/result.js';
import type { Builder, BuilderPool } from './builder-pool.js';
import type { ImageGate } from './gate-port.js';
import { ancestorRepositories } from './mount-sources.js';
import { pushImage, type PushContext, type PushOutcome, type PushSettings } from './push-image.js';

/**
 * What happens to an image once it exists: the gate decides (when the run has one), then the push is
 * queued, `push.threads` at once. Settles after every gate has decided and every push has ended.
 */
export class ImageAdmission {
  /** Whether each admitted image reached the registry (a spread run hands images over through it). */
  readonly pushed = new Map<string, Promise<boolean>>();
  private readonly pushes: Limiter;
  private readonly pushing: Array<Promise<PushOutcome>> = [];
  private readonly gating: Array<Promise<void>> = [];

  constructor(
    private readonly push: PushSettings | undefined,
    private readonly gate: ImageGate | undefined,
    private readonly pool: BuilderPool | undefined,
    /** Where each image's ancestors are, so their layers can be mounted instead of sent again. */
    private readonly plan: Pick<Plan, 'images' | 'skippedParents'>,
  ) {
    this.pushes = new Limiter(push?.threads ?? 1);
  }

  /** Gate, then push; resolves once the image is in the registry or known not to get there. */
  admit(image: PlannedImage, on: PushContext, builder?: Builder): Promise<PushOutcome | undefined> {
    const gate = this.gate;
    const admitted =
      gate === undefined
        ? this.queuePush(image, on, builder)
        : gate(image, on.signal, on.engine).then((decision) =>
            decision.push ? this.queuePush(image, on, builder) : undefined,
          );
    if (gate !== undefined) this.gating.push(admitted.then(() => undefined));
    this.pushed.set(
      image.name,
      admitted.then((outcome) => outcome?.result.ok === true),
    );
    return admitted;
  }

  /** An image another shard built is in the registry once taken: children on any builder find it there. */
  markInRegistry(name: string): void {
    this.pushed.set(name, Promise.resolve(true));
  }

  /** An image put together at the registry by its own step: pushed, with nothing for a push to do. */
  composedAtRegistry(image: PlannedImage): void {
    const outcome: PushOutcome = { name: image.name, reference: image.reference, result: ok(undefined) };
    this.pushing.push(Promise.resolve(outcome));
    this.markInRegistry(image.name);
  }

  /** An image composed at the registry that the gate held before any of it was pushed: it never gets there. */
  composedAndHeld(image: PlannedImage): void {
    this.pushed.set(image.name, Promise.resolve(false));
  }

  /** Every push's outcome, once every gate has decided (and so queued its push) and every push has ended. */
  async settle(): Promise<PushOutcome[]> {
    await Promise.all(this.gating);
    await this.pushes.drain();
    return Promise.all(this.pushing);
  }

  private queuePush(image: PlannedImage, on: PushContext, builder?: Builder): Promise<PushOutcome | undefined> {
    const push = this.push;
    if (!push) return Promise.resolve(undefined);
    const pool = this.pool;
    const stillThere = builder && pool ? () => pool.lostAfter(builder, 'push failed').then((lost) => !lost) : undefined;
    const outcome = this.pushes.add(() =>
      pushImage(on, image, push, ancestorRepositories(this.plan, image), stillThere),
    );
    this.pushing.push(outcome);
    return outcome;
  }
}
