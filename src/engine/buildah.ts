import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fail, ok, type Result } from '../util/result.js';
import { stackOnBuildah, type BuildahCli } from './buildah-stack.js';
import { composeLastLayer } from './store-composition.js';
import { storeSite } from './containers-storage.js';
import { commandFailure, engineQuery, nothing, parseJson, presence, pullFailure, runEngineCommand } from './failure.js';
import { buildTargetFlags, registryFlags, runFlags } from './flags.js';
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

/** buildah's store: overlay, where podman keeps its images too (podman.ts stacks through buildah on it). */
export const BUILDAH_STORAGE = ['--storage-driver', 'overlay'];
/** How every RUN step and command in a container runs: chroot isolation, the host's network. */
export const BUILDAH_ISOLATION = ['--isolation', 'chroot', '--network', 'host'];

type BuildahImage = {
  FromImageID?: string;
  FromImageDigest?: string;
  OCIv1?: { config?: { Labels?: Record<string, string>; User?: string } };
};

/** buildah with overlay storage and chroot isolation on the host network: what builds on a plain host. */
export class BuildahEngine implements Engine {
  readonly name = 'buildah' as const;

  constructor(private readonly command = 'buildah') {}

  async build(request: BuildRequest): EngineResult<ImageInfo> {
    const args = [...BUILDAH_STORAGE, 'bud', ...BUILDAH_ISOLATION, ...buildTargetFlags(request)];
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, args, { cwd: request.contextDir, signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('buildah bud', ran.value, 'build', signal));
    const info = await this.inspect(request.reference);
    if (!info.ok && info.failure.kind === 'not-found') {
      return fail({ kind: 'build', message: `buildah bud succeeded but ${request.reference} is not in storage` });
    }
    return info;
  }

  async push(request: PushRequest): EngineResult<void> {
    return pushResiliently(request, {
      engine: () => this.pushWithEngine(request),
      exportImage: (reference, dir, options) => this.exportOci(reference, dir, options),
    });
  }

  /** buildah's own push: the quickest where the network holds (its cache knows which layers the registry has). */
  private async pushWithEngine(request: PushRequest): EngineResult<void> {
    const args = [
      ...BUILDAH_STORAGE,
      'push',
      ...registryFlags(request),
      request.reference,
      `docker://${request.reference}`,
    ];
    // buildah push stages blobs in TMPDIR and leaves them there when stopped: a folder of its own is removed after.
    const scratch = await mkdtemp(join(tmpdir(), 'ci-builder-push-'));
    try {
      const env = { ...process.env, TMPDIR: scratch };
      const ran = await runEngineCommand(this.command, args, { env, signal: request.signal, onLine: request.onLine });
      if (!ran.ok) return ran;
      if (ran.value.exitCode !== 0) return fail(commandFailure('buildah push', ran.value, 'push', request.signal));
      return ok(undefined);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async pull(request: PullRequest): EngineResult<ImageInfo> {
    const args = [...BUILDAH_STORAGE, 'pull', ...registryFlags(request), `docker://${request.reference}`];
    const { signal, onLine } = request;
    const ran = await runEngineCommand(this.command, args, { signal, onLine });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(pullFailure('buildah pull', ran.value, signal));
    return this.inspect(request.reference);
  }

  async run(request: RunRequest): EngineResult<RunResult> {
    const created = await this.query(['from', '--pull-never', request.reference]);
    if (!created.ok) return created;
    const container = created.value.trim();
    try {
      let output = '';
      const args = [
        ...BUILDAH_STORAGE,
        'run',
        ...BUILDAH_ISOLATION,
        ...runFlags(request),
        container,
        '--',
        ...request.command,
      ];
      const ran = await runEngineCommand(this.command, args, { onLine: (line) => (output += `${line}\n`) });
      return ran.ok ? ok({ exitCode: ran.value.exitCode, output }) : ran;
    } finally {
      await runEngineCommand(this.command, [...BUILDAH_STORAGE, 'rm', container]);
    }
  }

  async storagePath(): EngineResult<string> {
    const answer = await this.query(['info']);
    if (!answer.ok) return answer;
    const site = storeSite('buildah', answer.value);
    return site.ok ? ok(site.value.graphRoot || '/var/lib/containers/storage') : site;
  }

  async exportOci(reference: string, dir: string, options: ExportOptions = {}): EngineResult<void> {
    // buildah stages blobs in TMPDIR and leaves them there when stopped: beside the layout, which its caller removes.
    const env = { ...process.env, TMPDIR: dirname(dir) };
    const args = [...BUILDAH_STORAGE, 'push', reference, `oci:${dir}`];
    const ran = await runEngineCommand(this.command, args, { ...options, env });
    if (!ran.ok) return ran;
    if (ran.value.exitCode !== 0) return fail(commandFailure('buildah push oci:', ran.value, 'engine', options.signal));
    return ok(undefined);
  }

  /** The image's own layer onto another image made from the same one, with an edit on top (buildah-stack.ts). */
  async stackOwnLayers(request: StackRequest): EngineResult<Stacked> {
    return stackOnBuildah(this.stackCli(), request);
  }

  /** A stack's last layer made over the store's folders, nothing committed (store-composition.ts). */
  async composeLastLayer(request: CompositionRequest): EngineResult<ComposedLayer> {
    return composeLastLayer(this.stackCli(), request);
  }

  async imageNames(reference: string): EngineResult<string[]> {
    const answer = await this.query(['images', '--json', reference]);
    if (!answer.ok) return answer;
    const parsed = parseJson<Array<{ names?: string[] | null }>>(answer.value, 'buildah images');
    return parsed.ok ? ok(parsed.value.flatMap((image) => image.names ?? [])) : parsed;
  }

  private stackCli(): BuildahCli {
    return {
      command: this.command,
      storage: BUILDAH_STORAGE,
      isolation: BUILDAH_ISOLATION,
      graphRoot: () => this.stackGraphRoot(),
      inspect: (reference: string) => this.inspect(reference),
    };
  }

  private graphRoot: string | undefined;

  /** The store's folder, asked of buildah once: every stack of a run reads the same store. */
  private async stackGraphRoot(): EngineResult<string> {
    if (this.graphRoot !== undefined) return ok(this.graphRoot);
    const asked = await this.storagePath();
    if (asked.ok) this.graphRoot = asked.value;
    return asked;
  }

  /** A working container of the image, mounted: its merged root; release unmounts and removes it. */
  async mountImage(reference: string): EngineResult<MountedImage> {
    const created = await this.query(['from', '--pull-never', reference]);
    if (!created.ok) return created;
    const container = created.value.trim();
    const remove = async () => {
      await runEngineCommand(this.command, [...BUILDAH_STORAGE, 'umount', container]);
      await runEngineCommand(this.command, [...BUILDAH_STORAGE, 'rm', container]);
    };
    const mounted = await this.query(['mount', container]);
    if (!mounted.ok) {
      await remove();
      return mounted;
    }
    let released: Promise<void> | undefined;
    return ok({ root: mounted.value.trim(), release: () => (released ??= remove()) });
  }

  async findByLabel(key: string, value: string): EngineResult<string | undefined> {
    const filter = `label=${key}=${value}`;
    const answer = await this.query(['images', '--no-trunc', '--noheading', '--format', '{{.ID}}', '--filter', filter]);
    if (!answer.ok) return answer;
    return ok(
      answer.value
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line !== ''),
    );
  }

  async inspect(reference: string): EngineResult<ImageInfo> {
    const answer = await this.query(['inspect', '--type', 'image', reference]);
    if (!answer.ok) return answer;
    const parsed = parseJson<BuildahImage>(answer.value, 'buildah inspect');
    if (!parsed.ok) return parsed;
    const config = parsed.value.OCIv1?.config;
    const digest = parsed.value.FromImageDigest;
    const info = { id: parsed.value.FromImageID ?? '', labels: config?.Labels ?? {}, user: config?.User ?? '' };
    return ok(digest ? { ...info, digest } : info);
  }

  async exists(reference: string): EngineResult<boolean> {
    return presence(await this.inspect(reference));
  }

  async tag(image: string, reference: string): EngineResult<void> {
    return nothing(await this.query(['tag', image, reference]));
  }

  async remove(reference: string): EngineResult<void> {
    return nothing(await this.query(['rmi', reference]));
  }

  async listContainers(): EngineResult<string[]> {
    const answer = await this.query(['containers', '--json']);
    if (!answer.ok) return answer;
    const parsed = parseJson<Array<{ id: string }> | null>(answer.value || 'null', 'buildah containers');
    return parsed.ok ? ok((parsed.value ?? []).map((container) => container.id)) : parsed;
  }

  async removeContainers(ids: readonly string[]): EngineResult<void> {
    return ids.length === 0 ? ok(undefined) : nothing(await this.query(['rm', ...ids]));
  }

  private query(args: readonly string[]): Promise<Result<string, EngineFailure>> {
    return engineQuery(this.command, [...BUILDAH_STORAGE, ...args], `buildah ${args[0]}`);
  }
}
