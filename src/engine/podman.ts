import { fail, ok, type Result } from '../util/result.js';
import { commandFailure, engineQuery, nothing, parseJson, presence, pullFailure, runEngineCommand } from './failure.js';
import { buildTargetFlags, registryFlags, runFlags } from './flags.js';
import { PodmanStackThroughBuildah } from './podman-stack.js';
import { pushResiliently } from './registry-push.js';
import type {
  BuildRequest,
  ComposedLayer,
  CompositionRequest,
  Engine,
  EngineFailure,
  EngineResult,
  ExportOptions,
  ImageInfo,
  MountedImage,
  PullRequest,
  PushRequest,
  RunRequest,
  RunResult,
  StackRequest,
  Stacked,
} from './types.js';

type PodmanImage = {
  Id?: string;
  Digest?: string;
  RepoTags?: string[] | null;
  Config?: { Labels?: Record<string, string> | null; User?: string };
};

/**
 * Check containers get limits every host allows. Rootful podman otherwise asks for 1048576 open
 * files and processes, which fails without CAP_SYS_RESOURCE (a VM or container as build host);
 * a lower limit never needs a privilege, and a version query or smoke check needs no more.
 */
const RUN_LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=32768:32768'];

/**
 * Where podman's service is: the config's engine_url, else CONTAINER_HOST as podman itself reads
 * it; undefined means the local podman (no service, the storage buildah uses too).
 */
export function podmanServiceUrl(configured: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return configured || env.CONTAINER_HOST || undefined;
}

/** The first image id of a `podman images --quiet --no-trunc` answer, without the `sha256:` inspect leaves off. */
export function firstImageId(listing: string): string | undefined {
  const line = listing
    .split('\n')
    .map((entry) => entry.trim())
    .find((entry) => entry !== '');
  return line?.replace(/^sha256:/, '');
}

/**
 * podman, local or through a `podman system service` (`--url unix://…`, `tcp://…`, `ssh://…`).
 * Builds use chroot isolation on the host network, with layer caching, as the buildah adapter does.
 * Locally it shares buildah's storage (/var/lib/containers), so base images bootstrapped and images
 * built by either engine are reused by the other; a service uses the storage of the user it runs as.
 */
export class PodmanEngine implements Engine {
  readonly name = 'podman' as const;
  private readonly global: string[];
  /**
   * A respin's stack of a patched child's own layers onto its patched parent (podman-stack.ts): on a local
   * podman with buildah installed, `stackWith` being buildah's command. Absent otherwise (through a service the
   * store is on the service's host), and then a child of a patched parent is patched as a whole or rebuilt.
   */
  readonly stackOwnLayers?: (request: StackRequest) => EngineResult<Stacked>;
  /** Composing at the registry goes through buildah too, over the same store's folders. */
  readonly composeLastLayer?: (request: CompositionRequest) => EngineResult<ComposedLayer>;

  constructor(
    private readonly command = 'podman',
    url?: string,
    stackWith?: string,
  ) {
    this.global = url ? ['--url', url] : [];
    if (url === undefined && stackWith !== undefined) {
      const stacker = new PodmanStackThroughBuildah(
        { command, inspect: (reference) => this.inspect(reference) },
        stackWith,
      );
      this.stackOwnLayers = (request) => stacker.stack(request);
      this.composeLastLayer = (request) => stacker.compose(request);
    }
  }

  async build(request: BuildRequest): EngineResult<ImageInfo> {
    const args = [
      ...this.global,
      'build',
      '--isolation',
      'chroot',
      '--network',
      'host',
      // One layer for the whole build, as buildah makes: a layer per step (podman's default) commits each step's
      // files apart, and a respin carries each of those layers apart too. Reuse is the run's, by input digest.
      '--layers=false',
      ...buildTargetFlags(request),
    ];
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, args, { cwd: request.contextDir, signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('podman build', ran.value, 'build', signal));
    const info = await this.inspect(request.reference);
    if (!info.ok && info.failure.kind === 'not-found') {
      return fail({ kind: 'build', message: `podman build succeeded but ${request.reference} is not in storage` });
    }
    return info;
  }

  async push(request: PushRequest): EngineResult<void> {
    return pushResiliently(request, {
      engine: () => this.pushWithEngine(request),
      exportImage: (reference, dir, options) => this.exportOci(reference, dir, options),
    });
  }

  /** podman's own push: the quickest where the network holds (its cache knows which layers the registry has). */
  private async pushWithEngine(request: PushRequest): EngineResult<void> {
    const args = [
      ...this.global,
      'push',
      ...registryFlags(request),
      request.reference,
      `docker://${request.reference}`,
    ];
    const ran = await runEngineCommand(this.command, args, { signal: request.signal, onLine: request.onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('podman push', ran.value, 'push', request.signal));
    return ok(undefined);
  }

  async pull(request: PullRequest): EngineResult<ImageInfo> {
    const args = [...this.global, 'pull', ...registryFlags(request), `docker://${request.reference}`];
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, args, { signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(pullFailure('podman pull', ran.value, signal));
    return this.inspect(request.reference);
  }

  async run(request: RunRequest): EngineResult<RunResult> {
    let output = '';
    const args = [
      ...this.global,
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'host',
      ...RUN_LIMITS,
      '--entrypoint',
      '',
      ...runFlags(request),
      request.reference,
      ...request.command,
    ];
    const ran = await runEngineCommand(this.command, args, { onLine: (line) => (output += `${line}\n`) });
    if (!ran.ok) return ran;
    // 125: podman itself failed (no such image, service gone), not the command in the container.
    if (ran.value.exitCode === 125) return fail(commandFailure('podman run', ran.value, 'engine'));
    return ok({ exitCode: ran.value.exitCode, output });
  }

  async storagePath(): EngineResult<string> {
    const answer = await this.query(['info', '--format', '{{.Store.GraphRoot}}']);
    return answer.ok ? ok(answer.value.trim() || '/var/lib/containers/storage') : answer;
  }

  async exportOci(reference: string, dir: string, options: ExportOptions = {}): EngineResult<void> {
    // save, not push oci:, so that through a service the layout is still written on this side.
    const args = [...this.global, 'save', '--format', 'oci-dir', '-o', dir, reference];
    const ran = await runEngineCommand(this.command, args, options);
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('podman save', ran.value, 'engine', options.signal));
    return ok(undefined);
  }

  /** Local podman only: a service's storage is on its own host, so through one the caller exports instead. */
  async mountImage(reference: string): EngineResult<MountedImage> {
    if (this.global.length > 0) return fail({ kind: 'engine', message: 'podman image mount: not through a service' });
    const mounted = await this.query(['image', 'mount', reference]);
    if (!mounted.ok) return mounted;
    let released: Promise<void> | undefined;
    const unmount = async () => void (await runEngineCommand(this.command, ['image', 'unmount', reference]));
    return ok({ root: mounted.value.trim(), release: () => (released ??= unmount()) });
  }

  async findByLabel(key: string, value: string): EngineResult<string | undefined> {
    const answer = await this.query(['images', '--no-trunc', '--quiet', '--filter', `label=${key}=${value}`]);
    return answer.ok ? ok(firstImageId(answer.value)) : answer;
  }

  async inspect(reference: string): EngineResult<ImageInfo> {
    const answer = await this.query(['image', 'inspect', reference]);
    if (!answer.ok) return answer;
    const parsed = parseJson<PodmanImage[]>(answer.value, 'podman image inspect');
    if (!parsed.ok) return parsed;
    const [image] = parsed.value;
    if (image === undefined) return fail({ kind: 'not-found', message: `podman image inspect: no image ${reference}` });
    const info = { id: image.Id ?? '', labels: image.Config?.Labels ?? {}, user: image.Config?.User ?? '' };
    return ok(image.Digest ? { ...info, digest: image.Digest } : info);
  }

  async exists(reference: string): EngineResult<boolean> {
    return presence(await this.inspect(reference));
  }

  async imageNames(reference: string): EngineResult<string[]> {
    const answer = await this.query(['image', 'inspect', reference]);
    if (!answer.ok) return answer;
    const parsed = parseJson<PodmanImage[]>(answer.value, 'podman image inspect');
    return parsed.ok ? ok(parsed.value.flatMap((image) => image.RepoTags ?? [])) : parsed;
  }

  async tag(image: string, reference: string): EngineResult<void> {
    return nothing(await this.query(['tag', image, reference]));
  }

  async remove(reference: string): EngineResult<void> {
    return nothing(await this.query(['rmi', reference]));
  }

  /** --external: an interrupted build leaves its working containers in storage, not as podman containers. */
  async listContainers(): EngineResult<string[]> {
    const answer = await this.query(['ps', '--all', '--external', '--quiet', '--no-trunc']);
    return answer.ok ? ok(answer.value.split('\n').filter((line) => line.trim() !== '')) : answer;
  }

  async removeContainers(ids: readonly string[]): EngineResult<void> {
    return ids.length === 0 ? ok(undefined) : nothing(await this.query(['rm', '--force', ...ids]));
  }

  private query(args: readonly string[]): Promise<Result<string, EngineFailure>> {
    return engineQuery(this.command, [...this.global, ...args], `podman ${args[0]}`);
  }
}
