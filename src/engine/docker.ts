import { fail, ok, type Result } from '../util/result.js';
import { labelFlags, runFlags } from './flags.js';
import { describeFailure, runProcess } from './process.js';
import type { BuildRequest, Engine, EngineFailure, ImageInfo, PushRequest, RunRequest, RunResult } from './types.js';
import { dirname } from 'node:path';

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

  async build(request: BuildRequest): Promise<Result<ImageInfo, EngineFailure>> {
    const args = ['build', '--progress', 'plain', '--network', 'host', '-f', 'Dockerfile', '-t', request.reference, ...labelFlags(request.labels), '.'];
    const result = await runProcess(this.command, args, { cwd: request.contextDir, env: { ...this.env, DOCKER_BUILDKIT: '1' }, signal: request.signal, onLine: request.onLine });
    if (result.exitCode !== 0) return fail({ message: describeFailure('docker build', result), interrupted: request.signal.aborted });
    const info = await this.inspect(request.reference);
    if (info === undefined) return fail({ message: `docker build succeeded but ${request.reference} is not in the engine`, interrupted: false });
    return ok(info);
  }

  async push(request: PushRequest): Promise<Result<void, EngineFailure>> {
    // A config folder of its own per push: the credential never touches the user's ~/.docker.
    const env = request.authFile ? { ...this.env, DOCKER_CONFIG: dirname(request.authFile) } : this.env;
    const result = await runProcess(this.command, ['push', request.reference], { env, signal: request.signal, onLine: request.onLine });
    return result.exitCode === 0 ? ok(undefined) : fail({ message: describeFailure('docker push', result), interrupted: request.signal.aborted });
  }

  async run(request: RunRequest): Promise<RunResult> {
    let output = '';
    const result = await runProcess(this.command, ['run', '--rm', '--network', 'host', '--entrypoint', '', ...runFlags(request), request.reference, ...request.command], {
      env: this.env,
      onLine: (line) => (output += `${line}\n`),
    });
    return { exitCode: result.exitCode, output };
  }

  async storagePath(): Promise<string> {
    return (await this.query(['info', '--format', '{{.DockerRootDir}}'])).trim();
  }

  async exportOci(reference: string, dir: string): Promise<Result<void, EngineFailure>> {
    const daemon = this.env.DOCKER_HOST ? ['--src-daemon-host', this.env.DOCKER_HOST] : [];
    const result = await runProcess('skopeo', ['copy', ...daemon, `docker-daemon:${reference}`, `oci:${dir}`], { env: this.env });
    return result.exitCode === 0 ? ok(undefined) : fail({ message: describeFailure('skopeo copy docker-daemon:', result), interrupted: false });
  }

  async findByLabel(key: string, value: string): Promise<string | undefined> {
    const output = await this.query(['images', '--no-trunc', '--quiet', '--filter', `label=${key}=${value}`]);
    return output.split('\n').map((line) => line.trim()).find((line) => line !== '');
  }

  async inspect(reference: string): Promise<ImageInfo | undefined> {
    const result = await runProcess(this.command, ['image', 'inspect', reference], { env: this.env, captureStdout: true });
    if (result.exitCode !== 0) return undefined;
    const [image] = JSON.parse(result.stdout) as Array<{ Id: string; Config?: { Labels?: Record<string, string> | null; User?: string } }>;
    return image ? { id: image.Id, labels: image.Config?.Labels ?? {}, user: image.Config?.User ?? '' } : undefined;
  }

  async exists(reference: string): Promise<boolean> {
    return (await runProcess(this.command, ['image', 'inspect', reference], { env: this.env })).exitCode === 0;
  }

  async tag(image: string, reference: string): Promise<void> {
    await this.query(['tag', image, reference]);
  }

  async remove(reference: string): Promise<void> {
    await runProcess(this.command, ['image', 'rm', reference], { env: this.env });
  }

  async listContainers(): Promise<string[]> {
    return (await this.query(['ps', '--all', '--quiet', '--no-trunc'])).split('\n').filter((line) => line !== '');
  }

  async removeContainers(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await runProcess(this.command, ['rm', '--force', ...ids], { env: this.env });
  }

  private async query(args: readonly string[]): Promise<string> {
    const result = await runProcess(this.command, args, { env: this.env, captureStdout: true });
    if (result.exitCode !== 0) throw new Error(describeFailure(`docker ${args[0]}`, result));
    return result.stdout;
  }
}
