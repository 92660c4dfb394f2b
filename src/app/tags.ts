import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { RegistryClient, RegistryError } from '../registry/client.js';
import { isLoopbackRegistry } from '../run/registry-auth.js';
import { deployableImages, matchesDistro } from '../tags/catalog-images.js';
import { checkImages, type CheckedImage } from '../tags/check.js';
import { DEFAULT_KEY } from '../tags/naming.js';
import { promoteImages, type PromotedImage, type PromotionOutcome } from '../tags/promote.js';
import { referencedImages, repositoryOf } from '../tags/registry-images.js';
import { imageTags, type ImageTag } from '../tags/resolve.js';
import { latestRun, runSummaries } from '../tags/run-sources.js';
import { readRollout, type RunRollout } from '../tags/runs.js';
import { DEFAULT_TAGS_FILE, distroKeys, readTagsFile, TAGS_VARIABLE } from '../tags/tags-file.js';
import { planUpdate, type UpdatePlan } from '../tags/update.js';
import { writeTagChanges } from '../tags/write.js';
import { UsageError, WorkFailedError } from '../util/errors.js';
import { Pace } from '../util/pace.js';
import { RUNS_DIR } from '../util/runs-dir.js';
import type { Workspace } from './workspace.js';

export { DEFAULT_TAGS_FILE } from '../tags/tags-file.js';
export type { ImageTag, UpdatePlan };

const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** `tags update`: the runs' tags written into the tags file. */
export interface TagsUpdateRequest {
  file?: string;
  /** Run folders, artifacts folders or summaries; default the newest run. */
  runs?: readonly string[];
  dryRun: boolean;
  signal: AbortSignal;
}

export interface TagsUpdateOutcome {
  path: string;
  plan: UpdatePlan;
  written: boolean;
  /** The runs that pushed nothing: their tag is in no registry. */
  unpushed: RunRollout[];
}

/** Interrupted, nothing is written and the outcome is undefined (the exit status says 130). */
export async function updateTags(request: TagsUpdateRequest): Promise<TagsUpdateOutcome | undefined> {
  const { signal } = request;
  const file = readTagsFile(resolve(request.file ?? DEFAULT_TAGS_FILE));
  const runs = request.runs && request.runs.length > 0 ? request.runs : [latestRun(resolve(RUNS_DIR))];
  const pace = new Pace(signal);
  const rollouts: RunRollout[] = [];
  try {
    for (const source of await runSummaries(runs, signal)) {
      await pace.step();
      rollouts.push(readRollout(source));
    }
    const plan = await planUpdate(file.tags, rollouts, pace);
    await writeTagChanges(file, plan.changes, request.dryRun, pace);
    const written = !request.dryRun && plan.changes.length > 0;
    return { path: file.path, plan, written, unpushed: rollouts.filter((run) => !run.pushed) };
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}

/** Which images of the trees `tags list|check|promote` resolve, and in which tags file. */
export interface TagsChoice {
  workspace: Workspace;
  file?: string;
  distros?: readonly string[];
  /** What the operator should hear about the file (keys no image uses). */
  onWarning: (line: string) => void;
}

/** Every deployable image of the trees with its effective tag, per distro key of the file. */
export function resolveImageTags(choice: TagsChoice): ImageTag[] {
  const { loaded, catalog } = choice.workspace;
  const file = readTagsFile(resolve(choice.file ?? DEFAULT_TAGS_FILE));
  const inFile = distroKeys(file.tags);
  const distros = inFile.filter((distro) => matchesDistro(distro, choice.distros ?? []));
  if (distros.length === 0) {
    const asked = (choice.distros ?? []).join(',');
    throw new UsageError(`${file.path}: no distro matches --distro ${asked} (it has ${inFile.join(', ')})`);
  }
  const rows = distros.flatMap((distro) => {
    const images = deployableImages(catalog, loaded.config, distro);
    return imageTags(file.tags, images, [distro]).rows;
  });
  const used = new Set(rows.flatMap((row) => row.from));
  const unused = Object.keys(file.tags).filter((key) => key !== DEFAULT_KEY && !used.has(key));
  if (unused.length > 0) {
    const what = `${unused.length} key(s) of ${TAGS_VARIABLE} used by no image of the image trees`;
    choice.onWarning(`${file.path}: ${what}: ${unused.join(', ')}`);
  }
  return rows;
}

/** `tags check`: is every referenced image:tag in the registry? */
export interface TagsCheckRequest extends TagsChoice {
  namespace?: string;
  concurrency: number;
  signal: AbortSignal;
}

export type TagsCheckOutcome =
  | { kind: 'interrupted' }
  | {
      kind: 'checked';
      registry: string;
      checked: CheckedImage[];
      missing: CheckedImage[];
      unknown: CheckedImage[];
    };

export async function checkTags(request: TagsCheckRequest): Promise<TagsCheckOutcome> {
  const asked = request.namespace === undefined ? undefined : checkedNamespace(request.namespace, '--namespace');
  const rows = resolveImageTags(request);
  const { loaded } = request.workspace;
  const { registry, namespace, image_prefix: prefix } = loaded.config;
  const client = await connectedClient(loaded, request.signal);
  if (client === undefined) return { kind: 'interrupted' };
  const repository = (image: string) => repositoryOf(asked ?? namespace, prefix, image);
  const checked = await checkImages(client, referencedImages(rows), repository, request.concurrency).catch(
    (error: unknown) => {
      throw registryFailure(registry, error);
    },
  );
  const missing = checked.filter((image) => image.state === 'missing');
  const unknown = checked.filter((image) => image.state === 'unknown');
  return { kind: 'checked', registry, checked, missing, unknown };
}

/** `tags promote`: every referenced image:tag copied from one namespace to another. */
export interface TagsPromoteRequest extends TagsChoice {
  from: string;
  to: string;
  concurrency: number;
  signal: AbortSignal;
}

export type PromotionTotals = Record<'copied' | 'already_present' | 'failed' | 'interrupted', number>;

export type TagsPromoteOutcome =
  { kind: 'interrupted' } | { kind: 'promoted'; images: PromotedImage[]; totals: PromotionTotals };

export async function promoteTags(request: TagsPromoteRequest): Promise<TagsPromoteOutcome> {
  const from = checkedNamespace(request.from, '--from');
  const to = checkedNamespace(request.to, '--to');
  if (from === to) throw new UsageError('--from and --to name the same namespace');
  const rows = resolveImageTags(request);
  const { loaded } = request.workspace;
  const { registry, image_prefix: prefix } = loaded.config;
  const client = await connectedClient(loaded, request.signal);
  if (client === undefined) return { kind: 'interrupted' };
  const repositories = {
    from: (image: string) => repositoryOf(from, prefix, image),
    to: (image: string) => repositoryOf(to, prefix, image),
  };
  const promoting = promoteImages(client, referencedImages(rows), repositories, request.concurrency, request.signal);
  const images = await promoting.catch((error: unknown) => {
    throw registryFailure(registry, error);
  });
  const count = (outcome: PromotionOutcome) => images.filter((image) => image.outcome === outcome).length;
  const totals = {
    copied: count('copied'),
    already_present: count('already-present'),
    failed: count('failed'),
    interrupted: count('interrupted'),
  };
  return { kind: 'promoted', images, totals };
}

function checkedNamespace(value: string, flag: string): string {
  if (!NAMESPACE.test(value)) {
    const expected = 'expected a lower-case namespace such as stackhpc-dev';
    throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: ${expected}`);
  }
  return value;
}

/**
 * A client for the configured registry with the secrets file's credentials, known to answer;
 * undefined when the signal stopped it first. Every request of the client stops with the signal.
 */
async function connectedClient(loaded: LoadedConfig, signal: AbortSignal): Promise<RegistryClient | undefined> {
  const { registry, registry_token_hosts: tokenHosts } = loaded.config;
  if (registry === '') throw new UsageError('no registry configured (registry in the config): nothing to ask');
  const { registry_username: username, registry_password: password } = loadSecrets(loaded.secretsFile, loaded.readYaml);
  const credentials = username && password ? { username, password, tokenHosts } : undefined;
  const insecure = loaded.config.registry_insecure ?? isLoopbackRegistry(registry);
  const client = new RegistryClient(registry, credentials, { insecure, signal });
  const answered = await client.ping().then(
    () => true,
    (error: unknown) => {
      if (signal.aborted) return false;
      throw registryFailure(registry, error);
    },
  );
  return answered ? client : undefined;
}

/** A registry that refuses or cannot be reached is a failure of the work (exit 1), said in one line. */
function registryFailure(registry: string, error: unknown): unknown {
  return error instanceof RegistryError ? new WorkFailedError(`registry ${registry}: ${error.message}`) : error;
}
