import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine, UpgradedAhead } from '../engine/types.js';
import type { PatchInputs, Plan } from '../plan/plan.js';
import type { EventBus } from '../report/events.js';
import { patchScript, type ScriptOptions } from '../respin/patch-layer.js';
import { errorMessage } from '../util/errors.js';
import { logTo } from './image-log.js';
import type { OntoPatchedParent, PatchWork, RunImageWork } from './image-work.js';
import type { RegistryComposition } from './registry-composition.js';

/** An image's own upgrade made ahead: its scratch folder (the composition's, later) and the upper folder in it. */
export interface UpgradeMadeAhead {
  scratch: string;
  upgraded: UpgradedAhead;
  seconds: number;
}

interface Candidate {
  name: string;
  /** Its earlier image, upgraded as it is. */
  imageId: string;
  run: readonly string[];
}

/**
 * The patch's script for the packages only the child holds that moved, as a stack's `run`; none if none. Run
 * ahead, on the image before its parent's patch, it refuses to move any of the parent's packages (onlyThese).
 */
export function ownUpgrade(
  patching: PatchInputs,
  work: PatchWork,
  onto: OntoPatchedParent,
  options: ScriptOptions = {},
): { run?: string[] } {
  if (onto.ownPackages.length === 0) return {};
  const { setup, restore } = patching;
  const packages = onto.ownPackages;
  const script = patchScript({ setup, restore, packages, nativeArchitecture: work.nativeArchitecture }, options);
  return { run: ['sh', '-c', script] };
}

/**
 * The own upgrades of a composing respin's stacked images, run ahead of their parents' patches: on each image as
 * it was (its own layers over its parent before the patch), one at a time beside the run's threads. The image's
 * own step then only merges over its patched parent, with the upgrade's changes carried (composeLastLayer's
 * `upgradedAhead`). It fills what the run leaves idle while base is patched alone, and shortens every stack.
 * An image's step takes its upgrade: made or under way, it waits for it; not started yet, it runs it itself.
 */
export class UpgradesAhead {
  private readonly queue: Candidate[];
  private readonly underWay = new Map<string, Promise<UpgradeMadeAhead | undefined>>();
  private drained: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly events: EventBus,
    private readonly scratchRoot: string,
    candidates: readonly Candidate[],
    private readonly signal: AbortSignal,
  ) {
    this.queue = [...candidates];
  }

  /** Which stacked images of a composing run have an own upgrade to run ahead, in about the order they start. */
  static candidates(
    plan: Plan,
    work: ReadonlyMap<string, RunImageWork>,
    composition: RegistryComposition,
  ): Candidate[] {
    const patching = plan.patching;
    if (patching === undefined) return [];
    const { depth, chain } = placeInTree(plan);
    const candidates = plan.images.flatMap((image) => {
      const planned = work.get(image.name);
      if (planned?.kind !== 'patch' || planned.onto === undefined || composition.inStore.has(image.name)) return [];
      const { run } = ownUpgrade(patching, planned, planned.onto, { onlyThese: true });
      return run ? [{ name: image.name, imageId: planned.imageId, run }] : [];
    });
    // As the run starts them: parents before children, the longest chain first (the scheduler's order among the
    // ready). An upgrade made before its image's step starts is the gain.
    const at = (name: string) => [depth.get(name) ?? 0, -(chain.get(name) ?? 0)] as const;
    return candidates.sort((a, b) => {
      const [first, second] = [at(a.name), at(b.name)];
      return first[0] - second[0] || first[1] - second[1] || a.name.localeCompare(b.name);
    });
  }

  start(): void {
    if (this.engine.upgradeAhead === undefined) return;
    this.drained = this.drain();
  }

  /** The image's upgrade made ahead (waited for when under way), or undefined: its own step runs it. */
  async take(name: string): Promise<UpgradeMadeAhead | undefined> {
    const queued = this.queue.findIndex((candidate) => candidate.name === name);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return undefined;
    }
    const made = this.underWay.get(name);
    this.underWay.delete(name);
    return made;
  }

  /** Starts no more, and waits for the one under way: before the run removes the scratch folders. */
  async stop(): Promise<void> {
    this.queue.length = 0;
    await this.drained;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      if (this.signal.aborted) return;
      const made = this.upgrade(next);
      this.underWay.set(next.name, made);
      await made;
    }
  }

  private async upgrade(candidate: Candidate): Promise<UpgradeMadeAhead | undefined> {
    const log = logTo(this.events, candidate.name);
    log('upgrading its own packages ahead, on its earlier image, while its parent is patched');
    const started = Date.now();
    let scratch: string | undefined;
    let why: string;
    try {
      scratch = await mkdtemp(join(this.scratchRoot, `${candidate.name}-`));
      const upgradeAhead = this.engine.upgradeAhead?.bind(this.engine);
      const request = { image: candidate.imageId, run: candidate.run, scratch, onLine: log, signal: this.signal };
      const made = upgradeAhead ? await upgradeAhead(request) : undefined;
      if (made === undefined) why = 'the engine cannot';
      else if (!made.ok) why = made.failure.message;
      else if ('refused' in made.value) why = made.value.refused;
      else return { scratch, upgraded: made.value, seconds: (Date.now() - started) / 1000 };
    } catch (error) {
      why = errorMessage(error);
    }
    log(`not upgraded ahead (${why}): its packages are upgraded after the merge instead`);
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    return undefined;
  }
}

/** Each image's count of parents above it, and the length of the longest chain of children below it (itself one). */
function placeInTree(plan: Plan): { depth: Map<string, number>; chain: Map<string, number> } {
  const parents = new Map(plan.images.map((image) => [image.name, image.parent]));
  const depth = new Map<string, number>();
  const chain = new Map<string, number>();
  for (const image of plan.images) {
    let count = 0;
    let below = 1;
    // Each parent up the line is at least this far above the bottom of a chain through this image.
    for (let parent = image.parent; parent !== null; parent = parents.get(parent) ?? null) {
      count += 1;
      below += 1;
      chain.set(parent, Math.max(chain.get(parent) ?? 1, below));
    }
    depth.set(image.name, count);
    chain.set(image.name, Math.max(chain.get(image.name) ?? 1, 1));
  }
  return { depth, chain };
}
