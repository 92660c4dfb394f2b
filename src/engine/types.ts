import type { LayerBlob } from './upper-layer.js';
import type { ENGINE_NAMES } from '../config/schema.js';
import type { Result } from '../util/result.js';

export type EngineName = (typeof ENGINE_NAMES)[number];

export interface BuildRequest {
  contextDir: string;
  /** The reference the image gets; more tags may follow with tag(). */
  reference: string;
  labels: Record<string, string>;
  /** Build every step again, using none of the engine's cached layers (kolla-build's --nocache). */
  noCache?: boolean;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

export interface PushRequest {
  reference: string;
  /** A docker-style auth file (auths: {host: {auth}}) made for this push, for the engine's own push. */
  authFile?: string;
  /** The same login, for ci-builder's registry client; used when the reference is on that registry. */
  login?: { registry: string; username: string; password: string };
  /** Plain HTTP or unverified TLS, for loopback registries. */
  insecure: boolean;
  /** Repositories of the same registry that may hold some of the image's blobs (its ancestors'), to mount from. */
  mountFrom?: readonly string[];
  onLine: (line: string) => void;
  signal: AbortSignal;
}

/** What an export may be given: an interrupt stops it, and the engine's lines go to the image's log. */
export interface ExportOptions {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface PullRequest {
  /** What to pull: `registry/repository:tag` or `registry/repository@sha256:…`. */
  reference: string;
  /** A docker-style auth file for the registry; absent for anonymous registries. */
  authFile?: string;
  /** Plain HTTP or unverified TLS, for loopback registries. */
  insecure: boolean;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

export interface RunRequest {
  reference: string;
  command: readonly string[];
  /** The image's own user when absent. */
  user?: string;
  /** A host folder made visible in the container (read-only). */
  mount?: { hostDir: string; containerDir: string };
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number | null;
  /** Standard output and error together, as the command printed them. */
  output: string;
}

/** An image's merged filesystem made visible on this host, until released. */
export interface MountedImage {
  root: string;
  /** Unmounts and removes what the mount needed; safe to call once, whatever happened meanwhile. */
  release(): Promise<void>;
}

/** The layers a stack puts together, as folders of overlayfs changes (see containers-storage.ts), bottom first. */
export interface StackedLayers {
  /** The carried image's own layers: those above the image it was made from. */
  own: readonly string[];
  /** The layers that make the image put under them differ from that same image (a patch's, say). */
  ontoDiffering: readonly string[];
}

/** An image's own layers put onto another image made from the same one (see Engine.stackOwnLayers). */
export interface StackRequest {
  /** The image whose own layers are carried. */
  image: string;
  /** The image it was made from: its layers above this one's are its own. */
  below: string;
  /** The image they are put onto: `below` changed (patched, or itself stacked onto a patched parent). */
  onto: string;
  /** The reference the new image gets, with the carried image's config and these labels over its own. */
  reference: string;
  labels: Record<string, string>;
  /**
   * Changes to the new image's merged root before its last layer is committed: a reason when the layers
   * cannot be put together after all, and nothing is made.
   */
  edit: (root: string, layers: StackedLayers) => Promise<Result<void, string>>;
  /** A command run after the edit in the new image, as root on the host network (a patch's upgrade). */
  run?: readonly string[];
  /** Reads the new image's root once it is complete (after the command), before the commit. */
  read?: (root: string) => Promise<void>;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

/**
 * The folders of an image composed at the registry (never in the store), for the images stacked onto it: its
 * upper folder over the lower folders it was mounted on.
 */
export interface ComposedFolders {
  /** Top first, as overlayfs's lowerdir names them: absolute, or `l/<short>` under the store's overlay folder. */
  lowers: readonly string[];
  /** The folders that make it differ from the image it replaces (its parent's patch and its own upper folder). */
  differing: readonly string[];
}

/** Where a composition binds the run's apt lists folder in the root its command runs in (an empty folder in Debian's images). */
export const APT_LISTS_MOUNT = '/mnt';
/** The variable telling the command what to do with that folder: `export` or `import` (respin/shared-apt-lists.ts). */
export const APT_LISTS_VARIABLE = 'CI_BUILDER_APT_LISTS';

/** What a composition asks: a stack's request without the image to commit (nothing is committed to the store). */
export type CompositionRequest = Omit<StackRequest, 'reference' | 'labels'> & {
  /** An empty folder for the overlay's upper, work and mount folders and the layer's file; the caller removes it. */
  scratch: string;
  /** gzip's level for the layer (default 6). */
  level?: number;
  /** `onto`'s folders where it was composed too (then it is not in the store, and `onto` only names it). */
  ontoFolders?: ComposedFolders;
  /**
   * The run's apt lists folder, bound at /mnt for the command (read-only to import), and what the command is told
   * to do with it (respin/shared-apt-lists.ts); left out where the root's /mnt is not an empty folder.
   */
  aptLists?: { folder: string; mode: 'export' | 'import' };
};

/** A composition's seconds by step (a step it did not take is absent). */
export type CompositionSteps = Partial<
  Record<'layers_read' | 'mounted' | 'merged' | 'own_upgrade' | 'packages_read' | 'layer_written', number>
>;

export type ComposedLayer =
  /** `below`: the OCI config of the image the carried one was made from (its diff ids and history). */
  | {
      kind: 'composed';
      layer: LayerBlob;
      below: Record<string, unknown>;
      /** Its folders, for images stacked onto it, while the caller keeps the scratch folder. */
      folders: ComposedFolders;
      steps: CompositionSteps;
      /** What its command was told to do with the run's apt lists, where the folder was bound in its root. */
      aptLists?: 'export' | 'import';
    }
  | { kind: 'refused'; why: string };

/** A stack's steps, each with the words its image's log line times it by. */
export const STACK_STEP_WORDS = {
  layers_read: 'read its layers',
  carried: 'carried',
  mounted: 'mounted',
  merged: 'merged',
  own_upgrade: 'ran its command',
  packages_read: 'read',
  committed: 'committed',
} as const;

/** Seconds a stack took by step (a step it did not take is absent). */
export type StackSteps = Partial<Record<keyof typeof STACK_STEP_WORDS, number>>;

/** A stack made (with where its seconds went), or why the engine or the edit would not make it. */
export type Stacked = { kind: 'stacked'; image: ImageInfo; steps: StackSteps } | { kind: 'refused'; why: string };

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  /** The user the image runs as ('' means root). */
  user: string;
  /** The image's manifest digest, where the engine keeps one for it (a registry's digest once pushed or pulled). */
  digest?: string;
}

/**
 * Why an engine operation did not do what was asked. An expected failure is a value of this
 * type, never a thrown error: the scheduler decides from `kind` whether to retry and what the
 * summary says.
 */
export type EngineFailureKind =
  /** The build itself failed: a RUN step, a bad Dockerfile, a missing parent. */
  | 'build'
  /** The registry refused the push (authentication, manifest, storage). */
  | 'push'
  /** The engine (its command or daemon) or the registry could not be reached. */
  | 'connection'
  /** The image or reference asked for does not exist. */
  | 'not-found'
  /** The run was interrupted while the operation ran. */
  | 'interrupted'
  /** Any other error the engine reported. */
  | 'engine';

export interface EngineFailure {
  kind: EngineFailureKind;
  /** One line, for logs and the summary. */
  message: string;
}

export type EngineResult<T> = Promise<Result<T, EngineFailure>>;

/** What every engine adapter offers; the scheduler and run never know which one they hold. */
export interface Engine {
  readonly name: EngineName;
  build(request: BuildRequest): EngineResult<ImageInfo>;
  /**
   * Puts the image in the registry: the engine's own push first; when that fails, the image exported
   * as an OCI layout and uploaded by ci-builder's registry client, every blob retried on its own.
   */
  push(request: PushRequest): EngineResult<void>;
  /** Brings an image from a registry into the engine's storage; fails with `not-found` when the registry has none. */
  pull(request: PullRequest): EngineResult<ImageInfo>;
  /** The image that carries this label value, if the engine's storage holds one (none is not a failure). */
  findByLabel(key: string, value: string): EngineResult<string | undefined>;
  /** Fails with kind `not-found` when the engine does not hold the image. */
  inspect(reference: string): EngineResult<ImageInfo>;
  exists(reference: string): EngineResult<boolean>;
  tag(image: string, reference: string): EngineResult<void>;
  remove(reference: string): EngineResult<void>;
  /** Runs a command in a throwaway container of the image, on the host network; its exit code is in the value. */
  run(request: RunRequest): EngineResult<RunResult>;
  /** The folder the engine keeps images in, for free-space checks. */
  storagePath(): EngineResult<string>;
  /** Writes the image as an OCI image layout (gzip'd layers) into a folder that is empty or not there yet. */
  exportOci(reference: string, dir: string, options?: ExportOptions): EngineResult<void>;
  /**
   * Mounts the image read-only-in-practice from the engine's own storage, where the engine allows it
   * (no copy, no recompression). Absent, or failing with kind `engine`, where it cannot: callers export.
   */
  mountImage?(reference: string): EngineResult<MountedImage>;
  /**
   * The regular files at or under these absolute paths in the image, by path relative to its root, read with
   * nothing run in it; paths the image lacks are left out. For an engine that cannot mount (docker): a few
   * files without exporting the whole image.
   */
  copyFiles?(reference: string, paths: readonly string[]): EngineResult<Map<string, Buffer>>;
  /**
   * The new image `onto` + `image`'s own layers carried byte for byte (a registry that holds them is not sent them
   * again) + one layer of what `edit` changes. Absent where the engine's layers cannot be read as folders.
   */
  stackOwnLayers?(request: StackRequest): EngineResult<Stacked>;
  /**
   * A stack's last layer made over the engine's layer folders and written as a layer blob, nothing committed:
   * the image is put together at the registry (registry/composed-image.ts). Absent where layers are not folders.
   */
  composeLastLayer?(request: CompositionRequest): EngineResult<ComposedLayer>;
  /** The names (references) the engine gives the image. */
  imageNames?(reference: string): EngineResult<string[]>;
  /** Build containers now present; taken before a run so an interrupt can remove only the run's own. */
  listContainers(): EngineResult<string[]>;
  removeContainers(ids: readonly string[]): EngineResult<void>;
}
