import { fail, ok, type Result } from '../util/result.js';
import { labelFlags, runFlags } from './flags.js';
import { describeFailure, runProcess } from './process.js';
import type { BuildRequest, Engine, EngineFailure, ImageInfo, PushRequest, RunRequest, RunResult } from './types.js';

const STORAGE = ['--storage-driver', 'overlay'];

/** buildah with overlay storage and chroot isolation on the host network: what builds on a plain host. */
export class BuildahEngine implements Engine {
  readonly name = 'buildah' as const;

  constructor(private readonly command = 'buildah') {}

  async build(request: BuildRequest): Promise<Result<ImageInfo, EngineFailure>> {
    const args = [...STORAGE, 'bud', '--isolation', 'chroot', '--network', 'host', '-f', 'Dockerfile', '-t', request.reference, ...labelFlags(request.labels), '.'];
    const result = await runProcess(this.command, args, { cwd: request.contextDir, signal: request.signal, onLine: request.onLine });
    if (result.exitCode !== 0) return fail({ message: describeFailure('buildah bud', result), interrupted: request.signal.aborted });
    const info = await this.inspect(request.reference);
    if (info === undefined) return fail({ message: `buildah bud succeeded but ${request.reference} is not in storage`, interrupted: false });
    return ok(info);
  }

  async push(request: PushRequest): Promise<Result<void, EngineFailure>> {
    const args = [...STORAGE, 'push', `--tls-verify=${request.insecure ? 'false' : 'true'}`, ...(request.authFile ? ['--authfile', request.authFile] : []), request.reference, `docker://${request.reference}`];
    const result = await runProcess(this.command, args, { signal: request.signal, onLine: request.onLine });
    return result.exitCode === 0 ? ok(undefined) : fail({ message: describeFailure('buildah push', result), interrupted: request.signal.aborted });
  }

  async run(request: RunRequest): Promise<RunResult> {
    const container = (await this.query(['from', '--pull-never', request.reference])).trim();
    try {
      let output = '';
      const result = await runProcess(this.command, [...STORAGE, 'run', '--isolation', 'chroot', '--network', 'host', ...runFlags(request), container, '--', ...request.command], {
        onLine: (line) => (output += `${line}\n`),
      });
      return { exitCode: result.exitCode, output };
    } finally {
      await runProcess(this.command, [...STORAGE, 'rm', container]);
    }
  }

  async storagePath(): Promise<string> {
    const info = JSON.parse(await this.query(['info'])) as { store?: { GraphRoot?: string } };
    return info.store?.GraphRoot ?? '/var/lib/containers/storage';
  }

  async exportOci(reference: string, dir: string): Promise<Result<void, EngineFailure>> {
    const result = await runProcess(this.command, [...STORAGE, 'push', reference, `oci:${dir}`]);
    return result.exitCode === 0 ? ok(undefined) : fail({ message: describeFailure('buildah push oci:', result), interrupted: false });
  }

  async findByLabel(key: string, value: string): Promise<string | undefined> {
    const result = await this.query(['images', '--no-trunc', '--noheading', '--format', '{{.ID}}', '--filter', `label=${key}=${value}`]);
    return result.split('\n').map((line) => line.trim()).find((line) => line !== '');
  }

  async inspect(reference: string): Promise<ImageInfo | undefined> {
    const result = await runProcess(this.command, [...STORAGE, 'inspect', '--type', 'image', reference], { captureStdout: true });
    if (result.exitCode !== 0) return undefined;
    const parsed = JSON.parse(result.stdout) as { FromImageID?: string; OCIv1?: { config?: { Labels?: Record<string, string>; User?: string } } };
    return { id: parsed.FromImageID ?? '', labels: parsed.OCIv1?.config?.Labels ?? {}, user: parsed.OCIv1?.config?.User ?? '' };
  }

  async exists(reference: string): Promise<boolean> {
    return (await runProcess(this.command, [...STORAGE, 'inspect', '--type', 'image', reference])).exitCode === 0;
  }

  async tag(image: string, reference: string): Promise<void> {
    await this.query(['tag', image, reference]);
  }

  async remove(reference: string): Promise<void> {
    await runProcess(this.command, [...STORAGE, 'rmi', reference]);
  }

  async listContainers(): Promise<string[]> {
    const parsed = JSON.parse((await this.query(['containers', '--json'])) || 'null') as Array<{ id: string }> | null;
    return (parsed ?? []).map((container) => container.id);
  }

  async removeContainers(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await runProcess(this.command, [...STORAGE, 'rm', ...ids]);
  }

  private async query(args: readonly string[]): Promise<string> {
    const result = await runProcess(this.command, [...STORAGE, ...args], { captureStdout: true });
    if (result.exitCode !== 0) throw new Error(describeFailure(`buildah ${args[0]}`, result));
    return result.stdout;
  }
}
