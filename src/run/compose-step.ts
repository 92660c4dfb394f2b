import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mountFolders } from '../engine/store-composition.js';
import type { ComposedLayer, Engine, EngineFailure, StackRequest } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import type { PatchSteps } from '../report/events.js';
import { RegistryClient, sha256Digest } from '../registry/client.js';
import { composeImage, pushComposedImage, type RegistryImage } from '../registry/composed-image.js';
import { splitReference } from '../registry/reference.js';
import { describeAptLists } from '../respin/shared-apt-lists.js';
import { errorMessage } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import { StepClock } from '../util/step-clock.js';
import type { ImageStepContext } from './image-step-context.js';
import type { OntoPatchedParent, PatchWork } from './image-work.js';
import type { RegistryComposition } from './registry-composition.js';

/** gzip's level for the composed layer: several times quicker than the default, for about a tenth more bytes. */
const LAYER_GZIP_LEVEL = 1;

/** The stack's edit, command and read, as the stack step made them for the engine. */
export type StackParts = Pick<StackRequest, 'edit' | 'run' | 'read'>;

/** `pushed` false: the run's gate held the composed image, so none of it went to the registry. */
export type ComposeOutcome =
  | { kind: 'composed'; imageId: string; manifestDigest: string; steps: PatchSteps; pushed: boolean }
  | { kind: 'refused'; why: string };

/**
 * The stacked image made without writing it into the engine's store: its last layer made over the store's
 * folders (the engine's composeLastLayer), then the image put together at the registry from its patched
 * parent's layers (pushed by this run), its own layers as its earlier self's push left them there, and that
 * layer. The run's gate, if any, decides on the composed root before any of it is pushed. Refused (the caller
 * stacks in the store instead) where any of that is missing.
 */
export async function composeAtRegistry(
  context: ImageStepContext,
  composition: RegistryComposition,
  image: PlannedImage,
  work: PatchWork,
  onto: OntoPatchedParent,
  parts: StackParts & { labels: Record<string, string>; onLine: (line: string) => void },
  signal: AbortSignal,
): Promise<Result<ComposeOutcome, EngineFailure>> {
  const { engine } = context;
  const refuse = (why: string) => ok({ kind: 'refused' as const, why });
  if (!engine.composeLastLayer || !engine.imageNames) return refuse(`${engine.name} cannot compose at the registry`);
  const places = await registryPlaces(context, composition, image, work, onto, signal);
  if (!places.ok) return refuse(places.failure);
  const { target, parentAt, parentPushed, client, earlier } = places.value;

  const { labels, ...stack } = parts;
  const scratch = await mkdtemp(join(composition.scratchRoot, `${image.name}-`));
  // A parent's folders stay for its children until the run's end (they go with scratchRoot).
  let keep = false;
  try {
    const made = await composeLayer(engine, composition, image, work, onto, { ...stack, scratch, signal });
    if (!made.ok) return made;
    if (made.value.kind === 'refused') return refuse(made.value.why);
    const { layer, below, steps, folders } = made.value;
    const clock = new StepClock();
    if (!(await parentPushed)) return refuse('its patched parent did not reach the registry');
    const composed = composeImage({
      onto: await registryImage(client, parentAt.repository, parentAt.tag),
      image: earlier,
      below: { config: below },
      layer,
      createdBy: `ci-builder respin: ${image.name} composed onto ${onto.parentReference}`,
      labels,
      created: new Date().toISOString(),
    });
    if ('refused' in composed) return refuse(composed.refused);
    const imageId = composed.configDescriptor.digest.replace(/^sha256:/, '');
    const composedSeconds = clock.lap();
    // What the manifest will be named by once pushed: the gate's scan names the image by it before that.
    const digest = sha256Digest(composed.manifest);
    const passed = await gateComposed(composition, image, engine, digest, folders.lowers, scratch, signal);
    const gated = passed === undefined ? {} : { gated: clock.lap() };
    // Held by the gate: nothing of it goes to the registry, and its folders are not kept (nothing is made on it).
    const pushed = passed !== false;
    const manifestDigest = pushed
      ? await pushComposedImage(
          client,
          target,
          composed,
          { onto: parentAt.repository, image: target.repository, layer },
          { ...composition.blobs, mountFrom: [], signal, onLine: stack.onLine },
        )
      : digest;
    if (pushed && composition.parents.has(image.name)) {
      composition.composed.set(image.name, folders);
      keep = true;
    }
    const allSteps = { ...steps, ...gated, composed: composedSeconds + clock.lap() };
    return ok({ kind: 'composed', imageId, manifestDigest, steps: allSteps, pushed });
  } catch (error) {
    if (signal.aborted) return fail({ kind: 'interrupted', message: 'interrupted' });
    return fail({ kind: 'push', message: `composing at ${target.registry}: ${errorMessage(error)}` });
  } finally {
    if (!keep) await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The image's last layer, made over the store's folders (or its composed parent's) by the engine, its own
 * upgrade given the run's apt lists to export or import (respin/shared-apt-lists.ts).
 */
async function composeLayer(
  engine: Engine,
  composition: RegistryComposition,
  image: PlannedImage,
  work: PatchWork,
  onto: OntoPatchedParent,
  stack: StackParts & { onLine: (line: string) => void; scratch: string; signal: AbortSignal },
): Promise<Result<ComposedLayer, EngineFailure>> {
  const composeLastLayer = engine.composeLastLayer?.bind(engine);
  if (composeLastLayer === undefined) return ok({ kind: 'refused', why: `${engine.name} cannot compose` });
  const ontoFolders = composition.composed.get(image.parent ?? '');
  const listsMode = stack.run === undefined ? undefined : composition.aptLists.claim();
  const made = await composeLastLayer({
    image: work.imageId,
    below: onto.parentBefore,
    onto: onto.parentReference,
    ...stack,
    level: LAYER_GZIP_LEVEL,
    ...(ontoFolders ? { ontoFolders } : {}),
    ...(listsMode ? { aptLists: { folder: composition.aptLists.folder, mode: listsMode } } : {}),
  });
  await composition.aptLists.settle(listsMode, made.ok && made.value.kind === 'composed');
  if (made.ok && made.value.kind === 'composed' && made.value.aptLists)
    stack.onLine(describeAptLists(made.value.aptLists));
  return made;
}

/** Where a composition reads and writes at the registry, or why it cannot be made there. */
async function registryPlaces(
  context: ImageStepContext,
  composition: RegistryComposition,
  image: PlannedImage,
  work: PatchWork,
  onto: OntoPatchedParent,
  signal: AbortSignal,
) {
  const target = splitReference(image.reference);
  const parentAt = splitReference(onto.parentReference);
  if (target === undefined || parentAt === undefined || parentAt.registry !== target.registry) {
    return fail('it and its patched parent are not in one registry');
  }
  // Queued for its push by now (a parent's node ends after that); awaited only once this image's layer is made.
  const parentPushed = image.parent === null ? undefined : composition.pushed(image.parent);
  if (parentPushed === undefined) return fail('its patched parent is not pushed by this run');
  const login = composition.access.login?.registry === target.registry ? composition.access.login : undefined;
  const client = new RegistryClient(target.registry, login, { insecure: composition.access.insecure, signal });
  const earlier = await earlierInRegistry(context, client, target, work.imageId);
  if (!earlier.ok) return earlier;
  return ok({ target, parentAt, parentPushed, client, earlier: earlier.value });
}

/**
 * The run's gate on a composed image, its root mounted read-only from the composition's folders: whether it may
 * be pushed (a held one is remembered, so nothing is made on it); undefined on a run without a gate.
 */
async function gateComposed(
  composition: RegistryComposition,
  image: PlannedImage,
  engine: Engine,
  digest: string,
  lowers: readonly string[],
  scratch: string,
  signal: AbortSignal,
): Promise<boolean | undefined> {
  if (composition.gate === undefined) return undefined;
  const subject = { digest, mount: () => mountFolders(lowers, scratch) };
  const decision = await composition.gate(image, signal, engine, subject);
  if (!decision.push) composition.held.add(image.name);
  return decision.push;
}

/**
 * The earlier image as its run pushed it: one of the names the engine gives it in the image's own repository,
 * whose manifest in the registry names that very image (its config digest is the image id).
 */
async function earlierInRegistry(
  context: ImageStepContext,
  client: RegistryClient,
  target: { registry: string; repository: string },
  imageId: string,
): Promise<Result<RegistryImage, string>> {
  const names = await context.engine.imageNames?.(imageId);
  if (names === undefined || !names.ok) return fail('the names of its earlier image cannot be read');
  const bare = imageId.replace(/^sha256:/, '');
  for (const name of names.value) {
    const at = splitReference(name);
    if (at?.registry !== target.registry || at.repository !== target.repository) continue;
    // The manifest names the config: only the one of this very image is fetched.
    const manifest = await client.getManifest(at.repository, at.tag).catch(() => undefined);
    if (manifest?.config.digest !== `sha256:${bare}`) continue;
    return ok({ manifest, config: await client.getConfigBlob(at.repository, manifest.config.digest) });
  }
  return fail(`its earlier image is not in ${target.registry}/${target.repository} under any of its names`);
}

async function registryImage(client: RegistryClient, repository: string, tag: string): Promise<RegistryImage> {
  const manifest = await client.getManifest(repository, tag);
  return { manifest, config: await client.getConfigBlob(repository, manifest.config.digest) };
}
