import type { Engine, EngineFailure, MountedImage } from '../engine/types.js';
import type { Result } from '../util/result.js';

type Mounting = Promise<Result<MountedImage, EngineFailure>>;

/**
 * Images a run reads through the engine's mount many times (a respin's parents: each of their children's
 * stacks reads both the earlier and the patched parent), mounted once per engine and kept until the run's end.
 * Every mount is engine commands taking the store's lock, which waits for whatever commit holds it: two per
 * stack of every child were most of the time its parents' mounts took.
 */
export class SharedMounts {
  private readonly held = new Map<Engine, Map<string, Mounting>>();

  /**
   * The image's mount on this engine: made at the first call (by the engine, or by `mounter` for an image the
   * engine does not hold: one composed at the registry), the same root after; a failed one is not kept.
   */
  mount(engine: Engine, reference: string, mounter?: () => Mounting): Mounting {
    const mountImage = mounter ?? engine.mountImage?.bind(engine, reference);
    if (mountImage === undefined) throw new Error(`internal: ${engine.name} cannot mount images`);
    let mounts = this.held.get(engine);
    if (mounts === undefined) this.held.set(engine, (mounts = new Map<string, Mounting>()));
    const known = mounts.get(reference);
    if (known !== undefined) return known;
    const held = mounts;
    const mounting = mountImage().then((mounted) => {
      if (!mounted.ok) held.delete(reference);
      return mounted;
    });
    held.set(reference, mounting);
    return mounting;
  }

  /** Every mount let go: once no image of the run reads them any more. */
  async releaseAll(): Promise<void> {
    const mountings = [...this.held.values()].flatMap((mounts) => [...mounts.values()]);
    this.held.clear();
    for (const settled of await Promise.allSettled(mountings)) {
      if (settled.status === 'fulfilled' && settled.value.ok) await settled.value.value.release();
    }
  }
}
