import type { BlobPushOptions } from '../registry/blob-upload.js';
import type { RegistryAccess } from './already-pushed.js';

/** What a run composing stacked images at the registry needs (respin.compose registry, on a run that may). */
export interface RegistryComposition {
  /** Images of the run another image of it is made from: those stay in the engine's store, stacked there. */
  parents: ReadonlySet<string>;
  /** Whether an image reached the registry in this run; undefined when it was never queued for a push. */
  pushed: (name: string) => Promise<boolean> | undefined;
  access: RegistryAccess;
  blobs: Pick<BlobPushOptions, 'chunkBytes' | 'attempts' | 'backoffMs' | 'idleMs' | 'answerMs'>;
  /** Where each composition's overlay folders and layer file go, removed after it. */
  scratchRoot: string;
}
