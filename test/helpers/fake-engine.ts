import type {
  BuildRequest,
  Engine,
  EngineFailure,
  EngineResult,
  ImageInfo,
  PullRequest,
  PushRequest,
  RunResult,
} from '../../src/engine/types.js';
import { splitReference } from '../../src/run/already-pushed.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { OCI_MANIFEST } from '../../src/registry/media-types.js';
import { fail, ok } from '../../src/util/result.js';

/** What the fake engine should do wrong, by image reference. */
export interface FakeEngineScript {
  /** Builds of these references fail (kind `build`, or the kind given). */
  failBuild?: Map<string, EngineFailure['kind']>;
  /** Builds of a reference fail this many times (kind `build`), then succeed: a flaky build. */
  buildFailures?: Map<string, number>;
  /** Pushes of a reference fail this many times, then succeed. */
  pushFailures?: Map<string, number>;
  /** Pushes of these references throw, every time: an adapter bug. */
  pushThrows?: Set<string>;
  /** The first N tags fail (`fail`) or throw (`throw`). */
  tagFailures?: { count: number; how: 'fail' | 'throw' };
  /** A build of this reference waits until its signal is aborted. */
  hangBuild?: string;
  onBuildStarted?: (reference: string) => void;
  onPushStarted?: (reference: string) => void;
  /** A registry shared by several fake engines: pushes store into it, pulls read from it. */
  registry?: Map<string, ImageInfo>;
  /**
   * A real registry behind that map: a push also uploads a small image whose config carries the image's
   * labels, and records it under `registry/repository@digest` too, as a pull by digest names it.
   */
  remote?: RegistryClient;
}

/** Every operation of an engine whose daemon went away, as the docker CLI says it. */
const GONE: EngineFailure = { kind: 'connection', message: 'Cannot connect to the Docker daemon. Is it running?' };

/**
 * An engine held in memory, behaving as the adapters do on the Engine interface: builds add
 * images carrying their labels, findByLabel searches them, tag adds a reference, and failures
 * come back as values with their kind (or reject, as an adapter's throw would, where the script asks for a bug).
 */
export class FakeEngine implements Engine {
  readonly name = 'buildah' as const;
  readonly images = new Map<string, ImageInfo>();
  readonly built: string[] = [];
  /** References built with `noCache` (none of the engine's layer cache). */
  readonly builtWithoutCache: string[] = [];
  readonly pushed: string[] = [];
  readonly tagged: Array<[string, string]> = [];
  readonly calls: string[] = [];
  private nextId = 1;
  private tagsSoFar = 0;
  /** Set to true, the engine behaves as one whose daemon is gone: every operation fails with `connection`. */
  down = false;

  constructor(private readonly script: FakeEngineScript = {}) {}

  async build(request: BuildRequest): EngineResult<ImageInfo> {
    this.calls.push(`build ${request.reference}`);
    if (this.down) return fail(GONE);
    this.script.onBuildStarted?.(request.reference);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the callback may take the daemon away
    if (this.down) {
      request.onLine('failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF');
      return fail({ kind: 'build', message: `fake build of ${request.reference}: the daemon went away` });
    }
    if (this.script.hangBuild === request.reference) {
      const { signal } = request;
      const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      if (!signal.aborted) await aborted;
      return fail({ kind: 'interrupted', message: 'fake build stopped by SIGTERM' });
    }
    const failuresLeft = this.script.buildFailures?.get(request.reference) ?? 0;
    if (failuresLeft > 0) this.script.buildFailures?.set(request.reference, failuresLeft - 1);
    const kind = failuresLeft > 0 ? 'build' : this.script.failBuild?.get(request.reference);
    if (kind !== undefined) {
      request.onLine('RUN false');
      return fail({ kind, message: `fake build of ${request.reference} exited with 1: RUN false` });
    }
    const info: ImageInfo = { id: `sha256:fake-${this.nextId++}`, labels: { ...request.labels }, user: '' };
    this.images.set(request.reference, info);
    this.built.push(request.reference);
    if (request.noCache) this.builtWithoutCache.push(request.reference);
    return ok(info);
  }

  async push(request: PushRequest): EngineResult<void> {
    this.calls.push(`push ${request.reference}`);
    this.script.onPushStarted?.(request.reference);
    if (this.down) return fail(GONE);
    const pushed = await this.pushInMemory(request);
    const info = this.images.get(request.reference);
    if (!pushed.ok || this.script.remote === undefined || info === undefined) return pushed;
    const digest = await uploadConfigOnly(this.script.remote, request.reference, info);
    const parts = splitReference(request.reference);
    if (parts) this.script.registry?.set(`${parts.registry}/${parts.repository}@${digest}`, info);
    return pushed;
  }

  private pushInMemory(request: PushRequest): EngineResult<void> {
    if (this.script.pushThrows?.has(request.reference)) {
      return Promise.reject(new Error(`fake adapter bug pushing ${request.reference}`));
    }
    const left = this.script.pushFailures?.get(request.reference) ?? 0;
    if (left > 0) {
      this.script.pushFailures?.set(request.reference, left - 1);
      return Promise.resolve(fail({ kind: 'push', message: `fake registry refused ${request.reference}: 500` }));
    }
    if (!this.images.has(request.reference)) {
      return Promise.resolve(fail({ kind: 'not-found', message: `${request.reference}: image not known` }));
    }
    this.pushed.push(request.reference);
    const info = this.images.get(request.reference);
    if (info) this.script.registry?.set(request.reference, info);
    return Promise.resolve(ok(undefined));
  }

  pull(request: PullRequest): EngineResult<ImageInfo> {
    this.calls.push(`pull ${request.reference}`);
    if (this.down) return Promise.resolve(fail(GONE));
    const info = this.script.registry?.get(request.reference);
    if (info === undefined) {
      return Promise.resolve(fail({ kind: 'not-found', message: `${request.reference}: manifest unknown` }));
    }
    this.images.set(request.reference, info);
    return Promise.resolve(ok(info));
  }

  findByLabel(key: string, value: string): EngineResult<string | undefined> {
    if (this.down) return Promise.resolve(fail(GONE));
    for (const info of this.images.values()) if (info.labels[key] === value) return Promise.resolve(ok(info.id));
    return Promise.resolve(ok(undefined));
  }

  inspect(reference: string): EngineResult<ImageInfo> {
    const info = this.images.get(reference) ?? [...this.images.values()].find((image) => image.id === reference);
    return Promise.resolve(info ? ok(info) : fail({ kind: 'not-found', message: `${reference}: image not known` }));
  }

  exists(reference: string): EngineResult<boolean> {
    if (this.down) return Promise.resolve(fail(GONE));
    return Promise.resolve(ok(this.images.has(reference)));
  }

  tag(image: string, reference: string): EngineResult<void> {
    this.calls.push(`tag ${reference}`);
    if (this.down) return Promise.resolve(fail(GONE));
    const failures = this.script.tagFailures;
    if (failures && this.tagsSoFar++ < failures.count) {
      if (failures.how === 'throw') return Promise.reject(new Error('fake adapter bug tagging'));
      return Promise.resolve(fail({ kind: 'engine', message: `fake tag of ${reference} failed: storage busy` }));
    }
    const info = [...this.images.values()].find((candidate) => candidate.id === image);
    if (info === undefined) return Promise.resolve(fail({ kind: 'not-found', message: `${image}: image not known` }));
    this.images.set(reference, info);
    this.tagged.push([image, reference]);
    return Promise.resolve(ok(undefined));
  }

  remove(reference: string): EngineResult<void> {
    if (!this.images.delete(reference))
      return Promise.resolve(fail({ kind: 'not-found', message: `${reference}: image not known` }));
    return Promise.resolve(ok(undefined));
  }

  run(): EngineResult<RunResult> {
    return Promise.resolve(ok({ exitCode: 0, output: '' }));
  }

  storagePath(): EngineResult<string> {
    return Promise.resolve(ok('/nonexistent/fake-engine-storage'));
  }

  exportOci(reference: string): EngineResult<void> {
    return Promise.resolve(fail({ kind: 'engine', message: `the fake engine cannot export ${reference}` }));
  }

  listContainers(): EngineResult<string[]> {
    return Promise.resolve(this.down ? fail(GONE) : ok([]));
  }

  removeContainers(): EngineResult<void> {
    return Promise.resolve(ok(undefined));
  }
}

/** An image of no layers whose config carries the labels: enough for a registry to say what it holds. */
async function uploadConfigOnly(client: RegistryClient, reference: string, info: ImageInfo): Promise<string> {
  const parts = splitReference(reference);
  if (parts === undefined) throw new Error(`fake push: ${reference} names no registry`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: info.labels },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await client.uploadBlob(parts.repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [],
    }),
  );
  return client.putManifest(parts.repository, parts.tag, manifest, OCI_MANIFEST);
}
