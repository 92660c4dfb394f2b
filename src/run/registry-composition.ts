import type { ComposedFolders } from '../engine/types.js';
import type { BlobPushOptions } from '../registry/blob-upload.js';
import type { RegistryAccess } from './already-pushed.js';
import type { SharedAptLists } from '../respin/shared-apt-lists.js';
import type { ImageGate } from './gate-port.js';

/** What a run composing stacked images at the registry needs (respin.compose registry, on a run that may). */
export interface RegistryComposition {
  /** Images of the run another image of it is made from. */
  parents: ReadonlySet<string>;
  /** Images the run needs in the engine's store (a child of theirs is built on them): stacked there, not composed. */
  inStore: ReadonlySet<string>;
  /**
   * The folders of each parent composed so far, by name: its children are composed over them (and read them for
   * their merge) while the run keeps them, under scratchRoot.
   */
  composed: Map<string, ComposedFolders>;
  /** The run's login file for the engine, to pull a composed parent a child of it must be stacked onto after all. */
  authFile?: string;
  /** Whether an image reached the registry in this run; undefined when it was never queued for a push. */
  pushed: (name: string) => Promise<boolean> | undefined;
  access: RegistryAccess;
  /** Images composed that the run's gate held: in neither the registry nor the store, so nothing is made on them. */
  held: Set<string>;
  /** The run's gate: it decides each composed image from its mounted root, before any of it is pushed. */
  gate?: ImageGate;
  blobs: Pick<BlobPushOptions, 'chunkBytes' | 'attempts' | 'backoffMs' | 'idleMs' | 'answerMs'>;
  /** Where each composition's overlay folders and layer file go: removed after it, or (a parent's) at the run's end. */
  scratchRoot: string;
  /** apt's lists, fetched by the first own upgrade composed and copied into the later ones. */
  aptLists: SharedAptLists;
}
