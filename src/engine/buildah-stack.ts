import { errorMessage } from '../util/errors.js';
import { StepClock } from '../util/step-clock.js';
import { fail, ok, type Result } from '../util/result.js';
import { configFlags, type OciConfig } from './config-flags.js';
import { containerDiffDir, isEmptyLayer, layerDiffDir, LayerRecords } from './containers-storage.js';
import { recordedDeletions, restoreDeletions } from './layer-whiteouts.js';
import { commandFailure, engineQuery, parseJson, runEngineCommand } from './failure.js';
import {
  STACK_STEP_WORDS,
  type EngineFailure,
  type EngineResult,
  type ImageInfo,
  type StackedLayers,
  type StackRequest,
  type StackSteps,
  type Stacked,
} from './types.js';

export type Query = (args: readonly string[]) => Promise<Result<string, EngineFailure>>;

interface Inspected {
  FromImageID?: string;
  OCIv1?: { config?: OciConfig } & Record<string, unknown>;
}

/** What a stack on buildah needs of it: its command and storage flags, its store's folder, its inspection. */
export interface BuildahCli {
  command: string;
  storage: readonly string[];
  /** How a build's RUN step runs (chroot, host network): the stack's command runs so too. */
  isolation: readonly string[];
  graphRoot: () => EngineResult<string>;
  inspect: (reference: string) => EngineResult<ImageInfo>;
}

/**
 * buildah's stack. Each of the image's own layers that changes anything is carried as a layer of its own, byte
 * for byte (the same diff digest, so a registry holding it is not sent it again): a working container of what is
 * stacked so far gets it in its empty layer folder (cp -a --link: files hard-linked, folders made with their
 * owners, modes, times and overlayfs's opaque mark; deletions made anew with the times and links the layer's tar
 * recorded) and is committed. A last container of that is mounted for the edit, given the image's config and the
 * labels, runs the request's command if any, and is committed as the new image.
 */
export async function stackOnBuildah(cli: BuildahCli, request: StackRequest): EngineResult<Stacked> {
  const query: Query = (args) => engineQuery(cli.command, [...cli.storage, ...args], `buildah ${args[0]}`);
  const times = new Stopwatch();
  const root = await cli.graphRoot();
  if (!root.ok) return root;
  const [image, below, onto] = await Promise.all([
    inspectConfig(query, request.image),
    inspectConfig(query, request.below),
    inspectConfig(query, request.onto),
  ]);
  if (!image.ok) return image;
  if (!below.ok) return below;
  if (!onto.ok) return onto;
  const config = configFlags(image.value.config, onto.value.config, request.labels);
  if ('unsupported' in config) return ok({ kind: 'refused', why: config.unsupported });
  let layers: (StackedLayers & { carried: CarriedLayer[] }) | undefined;
  try {
    layers = await stackedLayers(root.value, image.value.id, below.value.id, onto.value.id);
  } catch (error) {
    return ok({ kind: 'refused', why: `its layers cannot be read: ${errorMessage(error)}` });
  }
  if (layers === undefined) return ok({ kind: 'refused', why: `it is not made from ${request.below}` });
  times.lap('layers_read');

  const intermediates: string[] = [];
  try {
    let top = onto.value.id;
    for (const layer of layers.carried) {
      const carried = await withContainer(query, top, async (container) => {
        const copied = await copyLayer(root.value, layer, await containerDiffDir(root.value, container), request);
        return copied.ok ? query(['commit', '--quiet', container]) : copied;
      });
      if (!carried.ok) return carried;
      top = carried.value.trim();
      intermediates.push(top);
    }
    times.lap('carried');
    const { own, ontoDiffering } = layers;
    const made = await withContainer<Stacked>(query, top, (container) =>
      finish(cli, query, container, request, { own, ontoDiffering }, config.flags, times),
    );
    if (made.ok && made.value.kind === 'stacked') {
      request.onLine(`own layers (${layers.carried.length}) stacked onto ${request.onto}: ${times.describe()}`);
    }
    return made;
  } finally {
    // Intermediate images are only the new one's lower layers: untagged, their records go (one command for
    // all: each takes the store's lock), their layers stay.
    if (intermediates.length > 0) await query(['rmi', ...intermediates.reverse()]);
  }
}

/** The last layer: the edit on the mounted root, its config and labels, the command, the read, the commit. */
async function finish(
  cli: BuildahCli,
  query: Query,
  container: string,
  request: StackRequest,
  layers: StackedLayers,
  configFlagList: readonly string[],
  times: Stopwatch,
): Promise<Result<Stacked, EngineFailure>> {
  const mounted = await query(['mount', container]);
  if (!mounted.ok) return mounted;
  times.lap('mounted');
  // Mounted until the commit: the edit, the command (which mounts it too) and the read see the same root.
  const root = mounted.value.trim();
  try {
    const edited = await request.edit(root, layers);
    if (!edited.ok) return ok({ kind: 'refused', why: edited.failure });
    times.lap('merged');
    const configured = await query(['config', ...configFlagList, container]);
    if (!configured.ok) return configured;
    if (request.run !== undefined) {
      const ran = await runIn(cli, container, request);
      if (!ran.ok) return ran;
      times.lap('own_upgrade');
    }
    if (request.read !== undefined) {
      await request.read(root);
      times.lap('packages_read');
    }
  } finally {
    await query(['umount', container]);
  }
  const committed = await query(['commit', '--quiet', container, request.reference]);
  if (!committed.ok) return committed;
  times.lap('committed');
  const made = await cli.inspect(request.reference);
  return made.ok ? ok({ kind: 'stacked', image: made.value, steps: times.seconds() }) : made;
}

/** Seconds per step, for the image's log and the run's summary: where a stack's time goes. */
class Stopwatch {
  private readonly clock = new StepClock();
  private readonly laps: Array<[keyof StackSteps, number]> = [];

  lap(step: keyof StackSteps): void {
    this.laps.push([step, this.clock.lap()]);
  }

  describe(): string {
    return this.laps.map(([step, seconds]) => `${STACK_STEP_WORDS[step]} ${seconds.toFixed(1)} s`).join(', ');
  }

  seconds(): StackSteps {
    return Object.fromEntries(this.laps);
  }
}

/** A layer of the image's own to carry: its id in the store and its folder. */
interface CarriedLayer {
  id: string;
  dir: string;
}

/** The image's own layers, onto's differing ones, and those of the former to carry (the ones changing anything). */
async function stackedLayers(
  graphRoot: string,
  image: string,
  below: string,
  onto: string,
): Promise<(StackedLayers & { carried: CarriedLayer[] }) | undefined> {
  const records = await LayerRecords.read(graphRoot);
  const own = records.above(image, below);
  if (own === undefined) return undefined;
  const differing = records.differing(onto, below);
  const carried: CarriedLayer[] = [];
  for (const id of own)
    if (!(await isEmptyLayer(graphRoot, id))) carried.push({ id, dir: layerDiffDir(graphRoot, id) });
  const dirs = (ids: readonly string[]) => ids.map((layer) => layerDiffDir(graphRoot, layer));
  return { own: dirs(own), ontoDiffering: dirs(differing), carried };
}

/** The request's command in the working container, as a build's RUN step runs (chroot, host network), as root. */
async function runIn(cli: BuildahCli, container: string, request: StackRequest): Promise<Result<void, EngineFailure>> {
  const args = [...cli.storage, 'run', ...cli.isolation, '--user', 'root', container, '--'];
  const { signal, onLine } = request;
  const ran = await runEngineCommand(cli.command, [...args, ...(request.run ?? [])], { signal, onLine });
  if (!ran.ok) return ran;
  return ran.value.exitCode === 0 ? ok(undefined) : fail(commandFailure('buildah run', ran.value, 'build', signal));
}

/**
 * The layer's files into the working container's layer folder, as the layer's tar had them: its deletions given
 * back the times and links the store's folder lost (layer-whiteouts.ts), so the commit writes the same bytes.
 */
async function copyLayer(
  graphRoot: string,
  from: CarriedLayer,
  to: string,
  { signal, onLine }: Pick<StackRequest, 'signal' | 'onLine'>,
): Promise<Result<void, EngineFailure>> {
  // Hard links, not copies: both layers are never written again once committed, and the store is one filesystem.
  const copied = await runEngineCommand('cp', ['-a', '--link', '--', `${from.dir}/.`, to], { signal });
  if (!copied.ok) return copied;
  if (copied.value.exitCode !== 0) return fail(commandFailure('cp -a --link', copied.value, 'build', signal));
  try {
    await restoreDeletions(from.dir, to, await recordedDeletions(graphRoot, from.id));
  } catch (error) {
    // The copy holds every deletion still, as the store keeps them: the image is whole, only the layer's bytes
    // differ from its tar's (the registry is sent it again).
    onLine(`layer ${from.id}: its deletions carried without their recorded times (${errorMessage(error)})`);
  }
  return ok(undefined);
}

export async function inspectConfig(
  query: Query,
  reference: string,
): Promise<Result<{ id: string; config: OciConfig; oci: Record<string, unknown> }, EngineFailure>> {
  const answer = await query(['inspect', '--type', 'image', reference]);
  if (!answer.ok) return answer;
  const parsed = parseJson<Inspected>(answer.value, 'buildah inspect');
  if (!parsed.ok) return parsed;
  const oci = parsed.value.OCIv1 ?? {};
  return ok({ id: parsed.value.FromImageID ?? '', config: oci.config ?? {}, oci });
}

/**
 * A working container of the image for `use` (given the name `buildah from` printed, which every buildah command
 * and the store's records know), removed after whatever happened.
 */
async function withContainer<T>(
  query: Query,
  image: string,
  use: (container: string) => Promise<Result<T, EngineFailure>>,
): Promise<Result<T, EngineFailure>> {
  const created = await query(['from', '--pull-never', image]);
  if (!created.ok) return created;
  const name = created.value.trim();
  try {
    return await use(name);
  } finally {
    await query(['rm', name]);
  }
}
