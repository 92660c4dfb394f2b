import { lstat, mkdir, mkdtemp, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { describeFailure, runProcess } from '../util/process.js';
import { fail, ok, type Result } from '../util/result.js';
import { StepClock } from '../util/step-clock.js';
import { engineQuery } from './failure.js';
import { inspectConfig, type BuildahCli, type Query } from './buildah-stack.js';
import { layerDiffDir, LayerRecords, shortLinksTopFirst } from './containers-storage.js';
import { writeUpperLayer, type LayerBlob } from './upper-layer.js';
import {
  APT_LISTS_MOUNT,
  APT_LISTS_VARIABLE,
  type ComposedFolders,
  type ComposedLayer,
  type CompositionRequest,
  type CompositionSteps,
  type EngineFailure,
  type MountedImage,
} from './types.js';

/**
 * The last layer of a stacked image, made without writing the image into the store: an overlayfs mount whose
 * lower folders are the store's own (the image's own layers over those of the image they go onto), the edit and
 * the command run in it, and what the mount's upper folder then holds written as a layer. The image's other
 * layers are already blobs of the registry, byte for byte, so the image is put together there
 * (registry/composed-image.ts): only this layer is written, where a stack writes every carried layer again.
 */
export async function composeLastLayer(
  cli: BuildahCli,
  request: CompositionRequest,
): Promise<Result<ComposedLayer, EngineFailure>> {
  const query: Query = (args) => engineQuery(cli.command, [...cli.storage, ...args], `buildah ${args[0]}`);
  const clock = new StepClock();
  const graph = await cli.graphRoot();
  if (!graph.ok) return graph;
  const graphRoot = graph.value;
  const [image, below] = await Promise.all([inspectConfig(query, request.image), inspectConfig(query, request.below)]);
  if (!image.ok) return image;
  if (!below.ok) return below;
  const dirs = (ids: readonly string[]) => ids.map((id) => layerDiffDir(graphRoot, id));
  let own: string[];
  let onto: ComposedFolders;
  try {
    const records = await LayerRecords.read(graphRoot);
    const above = records.above(image.value.id, below.value.id);
    if (above === undefined) return ok({ kind: 'refused', why: `it is not made from ${request.below}` });
    own = above;
    onto = request.ontoFolders ?? (await storeFolders(query, records, graphRoot, request.onto, below.value.id));
  } catch (error) {
    return ok({ kind: 'refused', why: `its layers cannot be read: ${errorMessage(error)}` });
  }
  const layersRead = clock.lap();

  const [upper, work, root] = ['upper', 'work', 'root'].map((name) => join(request.scratch, name)) as [
    string,
    string,
    string,
  ];
  for (const folder of [upper, work, root]) await mkdir(folder);
  // overlayfs lists lower folders top first.
  const ownLinks = await shortLinksTopFirst(graphRoot, own);
  const lowerLinks = [...ownLinks, ...onto.lowers];
  // Renamed folders copied whole and no metadata-only copies: the upper folder then holds plain files and
  // overlayfs's two marks (whiteouts and opaque folders), which is what a layer's tar can say.
  const options = `lowerdir=${lowerLinks.join(':')},upperdir=${upper},workdir=${work},redirect_dir=off,metacopy=off,index=off`;
  const mounted = await runProcess('mount', ['-t', 'overlay', 'overlay', '-o', options, root], {
    cwd: join(graphRoot, 'overlay'),
    signal: request.signal,
  });
  if (mounted.exitCode !== 0) return ok({ kind: 'refused', why: describeFailure('mount -t overlay', mounted) });
  const steps: CompositionSteps = { layers_read: layersRead, mounted: clock.lap() };
  let aptLists: 'export' | 'import' | undefined;
  try {
    const edited = await request.edit(root, { own: dirs(own), ontoDiffering: onto.differing });
    if (!edited.ok) return ok({ kind: 'refused', why: edited.failure });
    steps.merged = clock.lap();
    if (request.run !== undefined) {
      // Mounted onto by path for the command: a link there would have the mount follow it onto the host's
      // folders (in the command's own mount namespace only, yet nowhere the command expects).
      for (const folder of ['proc', 'dev']) {
        const found = await lstat(join(root, folder)).catch(() => undefined);
        if (found?.isDirectory() !== true) return ok({ kind: 'refused', why: `its /${folder} is not a folder` });
      }
      const ran = await runInRoot(root, image.value.config.Env ?? [], request);
      if (!ran.ok) return ran;
      if (ran.value !== undefined) aptLists = ran.value;
      steps.own_upgrade = clock.lap();
    }
    if (request.read !== undefined) {
      await request.read(root);
      steps.packages_read = clock.lap();
    }
  } finally {
    const unmounted = await runProcess('umount', [root]);
    if (unmounted.exitCode !== 0) request.onLine(describeFailure(`umount ${root}`, unmounted));
  }
  let layer: LayerBlob;
  try {
    layer = await writeUpperLayer(upper, join(request.scratch, 'layer.tar.gz'), {
      ...(request.level !== undefined ? { level: request.level } : {}),
      signal: request.signal,
    });
  } catch (error) {
    return ok({ kind: 'refused', why: `its last layer cannot be written: ${errorMessage(error)}` });
  }
  // Its own layers are those of the image it replaces: only its upper folder differs, over what onto changed.
  const overlayDir = join(graphRoot, 'overlay');
  const lowers = [upper, ...lowerLinks].map((folder) => (folder.startsWith('/') ? folder : join(overlayDir, folder)));
  const folders = { lowers, differing: [...onto.differing, upper] };
  const written = { ...steps, layer_written: clock.lap() };
  return ok({
    kind: 'composed',
    layer,
    below: below.value.oci,
    folders,
    steps: written,
    ...(aptLists ? { aptLists } : {}),
  });
}

/** The folders of an image in the store, as a composition onto it needs them: its layers, what differs from below. */
async function storeFolders(
  query: Query,
  records: LayerRecords,
  graphRoot: string,
  reference: string,
  below: string,
): Promise<ComposedFolders> {
  const onto = await inspectConfig(query, reference);
  if (!onto.ok) throw new Error(onto.failure.message);
  const links = await shortLinksTopFirst(graphRoot, records.layersOf(onto.value.id));
  const differing = records.differing(onto.value.id, below).map((id) => layerDiffDir(graphRoot, id));
  return { lowers: links, differing };
}

/**
 * The request's command in a chroot of the mounted root, as a build's RUN step runs it (root, the host's
 * network, the image's environment): in new mount and PID namespaces, with /proc and a /dev of the usual few
 * devices and a terminal mounted there (on a tmpfs, so nothing of them reaches the upper folder), gone with the
 * command.
 */
async function runInRoot(
  root: string,
  env: readonly string[],
  request: CompositionRequest,
): Promise<Result<'export' | 'import' | undefined, EngineFailure>> {
  const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
  const setup = [
    'set -e',
    'mount -t proc proc "$1/proc"',
    'mount -t tmpfs -o mode=755,nosuid dev "$1/dev"',
    ...devices.map((device) => `touch "$1/dev/${device}" && mount --bind /dev/${device} "$1/dev/${device}"`),
    'mkdir -p "$1/dev/pts" "$1/dev/shm"',
    // A terminal of its own, as a RUN step has: apt logs each dpkg run through one (/var/log/apt/term.log).
    'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$1/dev/pts"',
    'ln -s pts/ptmx "$1/dev/ptmx"',
    'ln -s /proc/self/fd "$1/dev/fd"',
    // The run's apt lists folder, where one is given: read-only to an upgrade that imports them.
    'if [ -n "$2" ]; then mount --bind "$2" "$1/mnt"; fi',
    'if [ "$3" = import ]; then mount -o remount,bind,ro "$1/mnt"; fi',
    'root="$1"; shift 3',
    'exec chroot "$root" /usr/bin/env -i "$@"',
  ].join('\n');
  const environment = env.some((entry) => entry.startsWith('PATH='))
    ? env
    : ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...env];
  const lists = await listsBinding(root, request);
  const args = [
    '--mount',
    '--pid',
    '--fork',
    '--kill-child',
    '--propagation',
    'private',
    'sh',
    '-c',
    setup,
    'compose',
    root,
    lists?.folder ?? '',
    lists?.mode ?? '',
  ];
  const told = lists ? [`${APT_LISTS_VARIABLE}=${lists.mode}`] : [];
  const ran = await runProcess('unshare', [...args, 'HOME=/root', ...environment, ...told, ...(request.run ?? [])], {
    signal: request.signal,
    onLine: request.onLine,
  });
  if (ran.exitCode === 0) return ok(lists?.mode);
  const message = describeFailure('the command in the composed root', ran);
  return fail({ kind: request.signal.aborted ? 'interrupted' : 'build', message });
}

/** The request's apt lists folder, where the root has an empty /mnt to bind it on (a bind elsewhere would show). */
async function listsBinding(root: string, request: CompositionRequest): Promise<CompositionRequest['aptLists']> {
  if (request.aptLists === undefined) return undefined;
  const target = join(root, APT_LISTS_MOUNT);
  const found = await lstat(target).catch(() => undefined);
  if (found?.isDirectory() !== true) return undefined;
  return (await readdir(target)).length === 0 ? request.aptLists : undefined;
}

/**
 * Folders mounted read-only as one root (overlayfs with lower folders only, top first): a composed image, for
 * reading, as the store would mount it were it there. Released by unmounting; the mount point goes too.
 */
export async function mountFolders(
  lowers: readonly string[],
  under: string,
): Promise<Result<MountedImage, EngineFailure>> {
  const root = await mkdtemp(join(under, 'root-'));
  const mounted = await runProcess('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `ro,lowerdir=${lowers.join(':')}`,
    root,
  ]);
  if (mounted.exitCode !== 0) {
    await rmdir(root).catch(() => undefined);
    return fail({ kind: 'engine', message: describeFailure('mount -t overlay', mounted) });
  }
  const release = async () => {
    const unmounted = await runProcess('umount', [root]);
    if (unmounted.exitCode === 0) await rmdir(root).catch(() => undefined);
  };
  return ok({ root, release });
}
