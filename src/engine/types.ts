import type { Result } from '../util/result.js';

export type EngineName = 'buildah' | 'docker';

export interface BuildRequest {
  contextDir: string;
  /** The reference the image gets; more tags may follow with tag(). */
  reference: string;
  labels: Record<string, string>;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

export interface PushRequest {
  reference: string;
  /** A docker-style auth file (auths: {host: {auth}}) made for this push; absent for anonymous registries. */
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

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  /** The user the image runs as ('' means root). */
  user: string;
}

export interface EngineFailure {
  message: string;
  interrupted: boolean;
}

/** What every engine adapter offers; the scheduler and run never know which one they hold. */
export interface Engine {
  readonly name: EngineName;
  build(request: BuildRequest): Promise<Result<ImageInfo, EngineFailure>>;
  push(request: PushRequest): Promise<Result<void, EngineFailure>>;
  /** The image that carries this label value, if the engine's storage holds one. */
  findByLabel(key: string, value: string): Promise<string | undefined>;
  inspect(reference: string): Promise<ImageInfo | undefined>;
  exists(reference: string): Promise<boolean>;
  tag(image: string, reference: string): Promise<void>;
  remove(reference: string): Promise<void>;
  /** Runs a command in a throwaway container of the image, on the host network. */
  run(request: RunRequest): Promise<RunResult>;
  /** The folder the engine keeps images in, for free-space checks. */
  storagePath(): Promise<string>;
  /** Writes the image as an OCI image layout into an empty folder. */
  exportOci(reference: string, dir: string): Promise<Result<void, EngineFailure>>;
  /** Build containers now present; taken before a run so an interrupt can remove only the run's own. */
  listContainers(): Promise<string[]>;
  removeContainers(ids: readonly string[]): Promise<void>;
}
