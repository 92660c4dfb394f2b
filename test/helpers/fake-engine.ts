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
import { fail, ok } from '../../src/util/result.js';

/** What the fake engine should do wrong, by image reference. */
export interface FakeEngineScript {
  /** Builds of these references fail (kind `build`, or the kind given). */
  failBuild?: Map<string, EngineFailure['kind']>;
  /** Pushes of a reference fail this many times, then succeed. */
  pushFailures?: Map<string, number>;
  /** Pushes of these references throw, every time: an adapter bug. */
  pushThrows?: Set<string>;
  /** The first N tags fail (`fail`) or throw (`throw`). */
  tagFailures?: { count: number; how: 'fail' | 'throw' };
  /** A build of this reference waits until its signal is aborted. */
  hangBuild?: string;
  onBuildStarted?: (reference: string) => void;
  /** A registry shared by several fake engines: pushes store into it, pulls read from it. */
  registry?: Map<string, ImageInfo>;
}

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

  constructor(private readonly script: FakeEngineScript = {}) {}

  async build(request: BuildRequest): EngineResult<ImageInfo> {
    this.calls.push(`build ${request.reference}`);
    this.script.onBuildStarted?.(request.reference);
    if (this.script.hangBuild === request.reference) {
      const { signal } = request;
      const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      if (!signal.aborted) await aborted;
      return fail({ kind: 'interrupted', message: 'fake build stopped by SIGTERM' });
    }
    const kind = this.script.failBuild?.get(request.reference);
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

  push(request: PushRequest): EngineResult<void> {
    this.calls.push(`push ${request.reference}`);
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
    const info = this.script.registry?.get(request.reference);
    if (info === undefined) {
      return Promise.resolve(fail({ kind: 'not-found', message: `${request.reference}: manifest unknown` }));
    }
    this.images.set(request.reference, info);
    return Promise.resolve(ok(info));
  }

  findByLabel(key: string, value: string): EngineResult<string | undefined> {
    for (const info of this.images.values()) if (info.labels[key] === value) return Promise.resolve(ok(info.id));
    return Promise.resolve(ok(undefined));
  }

  inspect(reference: string): EngineResult<ImageInfo> {
    const info = this.images.get(reference) ?? [...this.images.values()].find((image) => image.id === reference);
    return Promise.resolve(info ? ok(info) : fail({ kind: 'not-found', message: `${reference}: image not known` }));
  }

  exists(reference: string): EngineResult<boolean> {
    return Promise.resolve(ok(this.images.has(reference)));
  }

  tag(image: string, reference: string): EngineResult<void> {
    this.calls.push(`tag ${reference}`);
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
    return Promise.resolve(ok([]));
  }

  removeContainers(): EngineResult<void> {
    return Promise.resolve(ok(undefined));
  }
}
