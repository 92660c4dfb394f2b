import type { EngineFailure, Engine, ImageInfo } from '../engine/types.js';
import { INPUT_DIGEST_LABEL } from '../plan/plan.js';
import { RegistryClient, type ImageConfig, type ImageManifest } from '../registry/client.js';
import { errorMessage } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import { splitReference } from './already-pushed.js';
import type { RegistryLogin } from './registry-auth.js';

/** A parent image another builder or shard makes, to be taken from the run's registry. */
export interface ParentInRegistry {
  /** Where the run pushes it, `registry/namespace/name:tag`: the reference its children's FROM names. */
  reference: string;
  /** The input digest the plan gives it: a tag left by another run with other inputs is not taken. */
  inputDigest: string;
}

export interface RegistryHandOff {
  insecure: boolean;
  authFile?: string;
  login?: RegistryLogin;
  /** How long to wait for the parent to appear before giving up. */
  timeoutMs: number;
  /** Time between two looks at the registry. */
  pollMs: number;
  onLine: (line: string) => void;
  signal: AbortSignal;
}

/** The registry's manifest digest of the image at the reference, when it carries the expected input digest. */
export type RegistryLook = { found: false; why: string } | { found: true; digest: string };

/**
 * Waits until the registry holds the parent at its reference with the plan's input digest, then pulls it
 * by that manifest digest (so what is pulled is what was checked, whatever the tag says by then) and gives
 * it its reference in the engine. A parent that never appears fails as `not-found` after the timeout.
 */
export async function pullParentFromRegistry(
  engine: Pick<Engine, 'pull' | 'tag'>,
  parent: ParentInRegistry,
  handOff: RegistryHandOff,
): Promise<Result<ImageInfo, EngineFailure>> {
  const parts = splitReference(parent.reference);
  if (parts === undefined) {
    return fail({ kind: 'engine', message: `${parent.reference} is not in a registry: images cannot be handed over` });
  }
  const login = handOff.login?.registry === parts.registry ? handOff.login : undefined;
  const client = new RegistryClient(parts.registry, login, { insecure: handOff.insecure });
  const deadline = Date.now() + handOff.timeoutMs;
  let look = await lookForParent(client, parts.repository, parts.tag, parent.inputDigest);
  while (!look.found && Date.now() < deadline && !handOff.signal.aborted) {
    await sleep(Math.min(handOff.pollMs, Math.max(0, deadline - Date.now())), handOff.signal);
    look = await lookForParent(client, parts.repository, parts.tag, parent.inputDigest);
  }
  if (handOff.signal.aborted) return fail({ kind: 'interrupted', message: 'interrupted' });
  if (!look.found) {
    const seconds = Math.round(handOff.timeoutMs / 1000);
    return fail({
      kind: 'not-found',
      message: `${parent.reference} not in the registry after ${seconds} s: ${look.why}`,
    });
  }
  const byDigest = `${parts.registry}/${parts.repository}@${look.digest}`;
  handOff.onLine(`pulling ${byDigest} (built elsewhere in this run)`);
  const pulled = await engine.pull({
    reference: byDigest,
    insecure: handOff.insecure,
    onLine: handOff.onLine,
    signal: handOff.signal,
    ...(handOff.authFile ? { authFile: handOff.authFile } : {}),
  });
  if (!pulled.ok) return pulled;
  const tagged = await engine.tag(pulled.value.id, parent.reference);
  return tagged.ok ? ok(pulled.value) : tagged;
}

/** One look: is the tag there, and is it this run's image (its input digest label)? */
export async function lookForParent(
  client: RegistryClient,
  repository: string,
  tag: string,
  inputDigest: string,
): Promise<RegistryLook> {
  try {
    const head = await client.headManifest(repository, tag);
    if (head === undefined) return { found: false, why: 'no such tag yet' };
    const manifest = JSON.parse((await client.getRawManifest(repository, head.digest)).bytes.toString('utf8')) as
      ImageManifest | { manifests?: unknown };
    if (!('config' in manifest)) return { found: false, why: 'the tag names an index, not an image' };
    const config: ImageConfig = await client.getImageConfig(repository, head.digest);
    const label = config.config?.Labels?.[INPUT_DIGEST_LABEL];
    if (label !== inputDigest) {
      return { found: false, why: `the tag holds another image (input digest ${label ?? 'none'})` };
    }
    return { found: true, digest: head.digest };
  } catch (error) {
    return { found: false, why: `the registry did not answer: ${errorMessage(error)}` };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
