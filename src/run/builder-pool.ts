import type { Builder } from '../engine/builders.js';
import { placeImage, type BuilderLoad } from '../shard/placement.js';

export type { Builder } from '../engine/builders.js';

interface BuilderState extends BuilderLoad {
  builder: Builder;
  holds: Set<string>;
}

/** A slot taken on a builder; given back with release(). */
export interface Lease {
  builder: Builder;
}

/**
 * The builders of one run: which is free, which holds what, which is lost. Images wait here for a
 * slot; placement (pure) chooses among the builders with one. A lost builder is never chosen again.
 */
export class BuilderPool {
  private readonly states: BuilderState[];
  private readonly waiting: Array<() => void> = [];
  private readonly baseImages = new Map<string, Promise<boolean>>();

  constructor(
    builders: readonly Builder[],
    private readonly onLost: (builder: Builder, message: string) => void,
  ) {
    this.states = builders.map((builder) => ({
      builder,
      name: builder.name,
      slots: builder.slots,
      running: 0,
      lost: false,
      holds: new Set<string>(),
    }));
  }

  get builders(): Builder[] {
    return this.states.map((state) => state.builder);
  }

  get totalSlots(): number {
    return this.states.reduce((sum, state) => sum + state.slots, 0);
  }

  /** A slot for an image needing `needs` first; undefined once every builder is lost or the run is interrupted. */
  async acquire(needs: string | null, signal: AbortSignal): Promise<Lease | undefined> {
    for (;;) {
      if (signal.aborted || this.states.every((state) => state.lost)) return undefined;
      const name = placeImage({ needs }, this.states);
      const state = this.states.find((candidate) => candidate.name === name);
      if (state) {
        state.running++;
        return { builder: state.builder };
      }
      await new Promise<void>((resolve) => {
        const wake = () => (signal.removeEventListener('abort', wake), resolve());
        this.waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  release(lease: Lease): void {
    this.stateOf(lease.builder).running--;
    this.wakeAll();
  }

  holds(builder: Builder, name: string): boolean {
    return this.stateOf(builder).holds.has(name);
  }

  /** The builder now has this image (built, reused or pulled there). */
  record(builder: Builder, name: string): void {
    this.stateOf(builder).holds.add(name);
  }

  isLost(builder: Builder): boolean {
    return this.stateOf(builder).lost;
  }

  get lostBuilders(): string[] {
    return this.states.filter((state) => state.lost).map((state) => state.name);
  }

  /**
   * After a failure on a builder: is its engine still there? A build cut short by a daemon that went
   * away often reads as a build failure, so the engine is asked directly; only an engine that cannot
   * be reached marks the builder lost.
   */
  async lostAfter(builder: Builder, failure: string): Promise<boolean> {
    const state = this.stateOf(builder);
    if (state.lost) return true;
    const probe = await builder.engine.listContainers();
    if (probe.ok || probe.failure.kind !== 'connection') return false;
    // Another image may have found it lost while this one probed.
    if (!this.isLost(builder)) {
      state.lost = true;
      this.onLost(builder, `${failure} (${probe.failure.message})`);
      this.wakeAll();
    }
    return true;
  }

  /**
   * The base image made on a builder once: the first caller runs `prepare`, later ones wait for its
   * answer. A failed preparation is forgotten, so a later image on that builder tries again.
   */
  baseImageOn(builder: Builder, prepare: () => Promise<boolean>): Promise<boolean> {
    const known = this.baseImages.get(builder.name);
    if (known) return known;
    const made = prepare().then((ready) => {
      if (!ready) this.baseImages.delete(builder.name);
      return ready;
    });
    this.baseImages.set(builder.name, made);
    return made;
  }

  /** The base image was made on this builder by the run's base-image step. */
  baseImageMade(builder: Builder, reference: string): void {
    this.baseImages.set(builder.name, Promise.resolve(true));
    this.record(builder, reference);
  }

  private stateOf(builder: Builder): BuilderState {
    const state = this.states.find((candidate) => candidate.builder === builder);
    if (state === undefined) throw new Error(`internal: unknown builder ${builder.name}`);
    return state;
  }

  private wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}
