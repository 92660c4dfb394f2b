import type { Engine } from '../engine/types.js';
import { errorMessage } from '../util/errors.js';
import { keepImagePackages, readImagePackages, type ImagePackages } from './image-packages.js';

/**
 * Keeps the packages of each image a run makes in the respin cache, read while the run goes on, so the next
 * respin decides from what is kept instead of reading every earlier image then. Only through the engine's
 * mount, or a copy of the few files it needs out of the image (docker): a fraction of a second an image.
 * Exporting an image to read it would cost seconds an image in every build: never done here.
 */
export class PackageRecorder {
  private readonly reading = new Set<Promise<void>>();

  constructor(
    private readonly engine: Engine,
    private readonly cacheDir: string,
    /** A read that failed: said, not fatal (the respin reads the image itself when it comes). */
    private readonly onFailure: (message: string) => void,
  ) {}

  /** Whether this engine's images are recorded at all. */
  static canRecord(engine: Engine): boolean {
    return engine.mountImage !== undefined || engine.copyFiles !== undefined;
  }

  /** Starts reading the image's packages; the run does not wait for it until it settles. */
  record(imageId: string): void {
    this.track(
      imageId,
      readImagePackages(this.engine, imageId, this.cacheDir, { withoutExport: true }).then((packages) =>
        packages.ok ? undefined : this.onFailure(packages.failure),
      ),
    );
  }

  /** Keeps packages the build read already (the same read as the version label's). */
  keep(imageId: string, packages: ImagePackages): void {
    this.track(imageId, keepImagePackages(this.cacheDir, imageId, packages));
  }

  private track(imageId: string, work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => this.onFailure(`${imageId}: ${errorMessage(error)}`))
      .finally(() => this.reading.delete(tracked));
    this.reading.add(tracked);
  }

  /** Every read started has ended. */
  async settle(): Promise<void> {
    while (this.reading.size > 0) await Promise.all([...this.reading]);
  }
}
