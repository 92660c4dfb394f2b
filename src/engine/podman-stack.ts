import { basename } from 'node:path';
import { ok, type Result } from '../util/result.js';
import { BUILDAH_ISOLATION, BUILDAH_STORAGE } from './buildah.js';
import { stackOnBuildah, type BuildahCli } from './buildah-stack.js';
import { composeLastLayer } from './store-composition.js';
import { storeSite, type StoreSite } from './containers-storage.js';
import { engineQuery } from './failure.js';
import type {
  ComposedLayer,
  CompositionRequest,
  EngineFailure,
  EngineResult,
  ImageInfo,
  StackRequest,
  Stacked,
} from './types.js';

/** Asks an engine for its info: podman's and buildah's answer say where their stores are. */
type AskInfo = (command: string, args: readonly string[]) => Promise<Result<string, EngineFailure>>;

const askInfo: AskInfo = (command, args) => engineQuery(command, args, `${basename(command)} info`);

/**
 * A local podman's respin stack, run by buildah: podman and buildah are one store (Debian's podman recommends
 * buildah, and both default to /var/lib/containers/storage), so buildah carries a child's own layers onto its
 * patched parent there exactly as it does for its own images (buildah-stack.ts), and podman sees the result as
 * an image of its own. Refused, so that the image is patched as a whole, when the two stores are not one.
 */
export class PodmanStackThroughBuildah {
  private shared: Promise<Result<SharedStore, EngineFailure>> | undefined;

  constructor(
    private readonly podman: { command: string; inspect: (reference: string) => EngineResult<ImageInfo> },
    private readonly buildah: string,
    private readonly ask: AskInfo = askInfo,
  ) {}

  async stack(request: StackRequest): EngineResult<Stacked> {
    const cli = await this.buildahCli();
    if (!cli.ok) return cli;
    if ('why' in cli.value) return ok({ kind: 'refused', why: cli.value.why });
    return stackOnBuildah(cli.value, request);
  }

  /** A stack's last layer over the shared store's folders, nothing committed (store-composition.ts). */
  async compose(request: CompositionRequest): EngineResult<ComposedLayer> {
    const cli = await this.buildahCli();
    if (!cli.ok) return cli;
    if ('why' in cli.value) return ok({ kind: 'refused', why: cli.value.why });
    return composeLastLayer(cli.value, request);
  }

  /** buildah on the store podman keeps its images in, or why not: asked once, again after a failed question. */
  private async buildahCli(): Promise<Result<BuildahCli | { why: string }, EngineFailure>> {
    this.shared ??= sharedStore(this.podman.command, this.buildah, this.ask);
    const shared = await this.shared;
    // A failed question is asked again by the next stack; the answer, once had, holds for the run.
    if (!shared.ok) {
      this.shared = undefined;
      return shared;
    }
    if ('why' in shared.value) return ok({ why: shared.value.why });
    const { graphRoot } = shared.value;
    return ok({
      command: this.buildah,
      storage: BUILDAH_STORAGE,
      isolation: BUILDAH_ISOLATION,
      graphRoot: () => Promise.resolve(ok(graphRoot)),
      inspect: this.podman.inspect,
    });
  }
}

/** One store for both: buildah stacks in it. */
export type SharedStore = { graphRoot: string } | { why: string };

/** podman's store and the one buildah stacks on, each asked of its engine: the same (where), or why not. */
export async function sharedStore(
  podmanCommand: string,
  buildahCommand: string,
  ask: AskInfo = askInfo,
): Promise<Result<SharedStore, EngineFailure>> {
  const [podmanInfo, buildahInfo] = await Promise.all([
    ask(podmanCommand, ['info', '--format', 'json']),
    ask(buildahCommand, [...BUILDAH_STORAGE, 'info']),
  ]);
  if (!podmanInfo.ok) return podmanInfo;
  if (!buildahInfo.ok) return buildahInfo;
  const podman = storeSite('podman', podmanInfo.value);
  if (!podman.ok) return podman;
  const buildah = storeSite('buildah', buildahInfo.value);
  if (!buildah.ok) return buildah;
  const same = (['graphRoot', 'runRoot', 'driver'] as const).every((key) => podman.value[key] === buildah.value[key]);
  if (same) return ok({ graphRoot: podman.value.graphRoot });
  return ok({ why: `podman's store (${describe(podman.value)}) is not buildah's (${describe(buildah.value)})` });
}

const describe = (site: StoreSite) => `${site.graphRoot}, ${site.runRoot}, ${site.driver}`;
