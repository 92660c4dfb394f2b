import { dirname } from 'node:path';
import { fail, ok, type Result } from '../util/result.js';
import { copyFilesOut } from './docker-files.js';
import { commandFailure, engineQuery, nothing, parseJson, presence, pullFailure, runEngineCommand } from './failure.js';
import { buildTargetFlags, runFlags } from './flags.js';
import { pushResiliently } from './registry-push.js';
import type {
  BuildRequest,
  Engine,
  EngineFailure,
  EngineResult,
  ExportOptions,
  ImageInfo,
  PullRequest,
  PushRequest,
  RunRequest,
  RunResult,
} from './types.js';

type DockerImage = {
  Id: string;
  RepoDigests?: string[];
  Config?: { Labels?: Record<string, string> | null; User?: string };
};

/**
 * The Docker engine through its CLI with BuildKit, on the host network.
 * DOCKER_HOST is respected as the CLI respects it.
 */
export class DockerEngine implements Engine {
  readonly name = 'docker' as const;

  constructor(
    private readonly command = 'docker',
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async build(request: BuildRequest): EngineResult<ImageInfo> {
    const args = ['build', '--progress', 'plain', '--network', 'host', ...buildTargetFlags(request)];
    const ran = await runEngineCommand(this.command, args, {
      cwd: request.contextDir,
      env: { ...this.env, DOCKER_BUILDKIT: '1' },
      signal: request.signal,
      onLine: request.onLine,
    });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('docker build', ran.value, 'build', request.signal));
    const info = await this.inspect(request.reference);
    if (!info.ok && info.failure.kind === 'not-found') {
      return fail({ kind: 'build', message: `docker build succeeded but ${request.reference} is not in the engine` });
    }
    return info;
  }

  async push(request: PushRequest): EngineResult<void> {
    return pushResiliently(request, {
      engine: () => this.pushWithEngine(request),
      exportImage: (reference, dir, options) => this.exportForPush(reference, dir, options),
    });
  }

  /** docker's own push: the quickest where the network holds (the daemon knows which layers the registry has). */
  private async pushWithEngine(request: PushRequest): EngineResult<void> {
    // A config folder of its own per push: the credential never touches the user's ~/.docker.
    const env = request.authFile ? { ...this.env, DOCKER_CONFIG: dirname(request.authFile) } : this.env;
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, ['push', request.reference], { env, signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('docker push', ran.value, 'push', signal));
    return ok(undefined);
  }

  async pull(request: PullRequest): EngineResult<ImageInfo> {
    // The daemon decides about plain HTTP (loopback registries are allowed by default), not the client.
    const env = request.authFile ? { ...this.env, DOCKER_CONFIG: dirname(request.authFile) } : this.env;
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, ['pull', request.reference], { env, signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(pullFailure('docker pull', ran.value, signal));
    return this.inspect(request.reference);
  }

  async run(request: RunRequest): EngineResult<RunResult> {
    let output = '';
    const args = [
      'run',
      '--rm',
      '--network',
      'host',
      '--entrypoint',
      '',
      ...runFlags(request),
      request.reference,
      ...request.command,
    ];
    const onLine = (line: string) => (output += `${line}\n`);
    const ran = await runEngineCommand(this.command, args, { env: this.env, onLine });
    if (!ran.ok) return ran;
    // 125: docker itself failed (no such image, daemon gone), not the command in the container.
    if (ran.value.exitCode === 125) return fail(commandFailure('docker run', ran.value, 'engine'));
    return ok({ exitCode: ran.value.exitCode, output });
  }

  async copyFiles(reference: string, paths: readonly string[]): EngineResult<Map<string, Buffer>> {
    return copyFilesOut(this.command, this.env, reference, paths);
  }

  async storagePath(): EngineResult<string> {
    const answer = await this.query(['info', '--format', '{{.DockerRootDir}}']);
    return answer.ok ? ok(answer.value.trim()) : answer;
  }

  async exportOci(reference: string, dir: string, options: ExportOptions = {}): EngineResult<void> {
    return this.copyFromDaemon(reference, `oci:${dir}`, [], options);
  }

  /**
   * The image as a `dir:` folder with gzip'd layers: unlike an OCI layout it keeps the Docker manifest
   * type and the config byte for byte, so the registry's config digest stays the daemon's image id.
   */
  private exportForPush(reference: string, dir: string, options: ExportOptions): EngineResult<void> {
    return this.copyFromDaemon(reference, `dir:${dir}`, ['--dest-compress'], options);
  }

  /** skopeo reads the image from the daemon (as `docker save` streams it) and writes it where asked. */
  private async copyFromDaemon(
    reference: string,
    destination: string,
    flags: readonly string[],
    options: ExportOptions,
  ): EngineResult<void> {
    const daemon = this.env.DOCKER_HOST ? ['--src-daemon-host', this.env.DOCKER_HOST] : [];
    const args = ['copy', ...daemon, ...flags, `docker-daemon:${reference}`, destination];
    const ran = await runEngineCommand('skopeo', args, { ...options, env: this.env });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) {
      return fail(commandFailure('skopeo copy docker-daemon:', ran.value, 'engine', options.signal));
    }
    return ok(undefined);
  }

  async findByLabel(key: string, value: string): EngineResult<string | undefined> {
    const answer = await this.query(['images', '--no-trunc', '--quiet', '--filter', `label=${key}=${value}`]);
    return answer.ok
      ? ok(
          answer.value
            .split('\n')
            .map((line) => line.trim())
            .find((line) => line !== ''),
        )
      : answer;
  }

  async inspect(reference: string): EngineResult<ImageInfo> {
    const answer = await this.query(['image', 'inspect', reference]);
    if (!answer.ok) return answer;
    const parsed = parseJson<DockerImage[]>(answer.value, 'docker image inspect');
    if (!parsed.ok) return parsed;
    const [image] = parsed.value;
    if (image === undefined) return fail({ kind: 'not-found', message: `docker image inspect: no image ${reference}` });
    // The classic image store knows a manifest digest only for an image pushed or pulled.
    const digest = image.RepoDigests?.[0]?.split('@')[1];
    const info = { id: image.Id, labels: image.Config?.Labels ?? {}, user: image.Config?.User ?? '' };
    return ok(digest ? { ...info, digest } : info);
  }

  async exists(reference: string): EngineResult<boolean> {
    return presence(await this.inspect(reference));
  }

  async tag(image: string, reference: string): EngineResult<void> {
    return nothing(await this.query(['tag', image, reference]));
  }

  async remove(reference: string): EngineResult<void> {
    return nothing(await this.query(['image', 'rm', reference]));
  }

  async listContainers(): EngineResult<string[]> {
    const answer = await this.query(['ps', '--all', '--quiet', '--no-trunc']);
    return answer.ok ? ok(answer.value.split('\n').filter((line) => line !== '')) : answer;
  }

  async removeContainers(ids: readonly string[]): EngineResult<void> {
    return ids.length === 0 ? ok(undefined) : nothing(await this.query(['rm', '--force', ...ids]));
  }

  private query(args: readonly string[]): Promise<Result<string, EngineFailure>> {
    return engineQuery(this.command, args, `docker ${args[0]}`, { env: this.env });
  }
}
