import type { Engine } from '../engine/types.js';
import { RegistryClient } from '../registry/client.js';
import { splitReference } from '../registry/reference.js';
import type { RegistryLogin } from './registry-auth.js';

export { splitReference } from '../registry/reference.js';

export interface RegistryAccess {
  insecure: boolean;
  /** The run's registry login, used when the reference is on that registry. */
  login?: RegistryLogin;
}

/** How long the registry may take to answer before the push goes ahead as usual. */
const ASK_TIMEOUT_MS = 30_000;

/**
 * Whether the registry already holds this image at this reference: its manifest names the
 * local image's config (the image id of buildah and docker is its config digest). Anything
 * short of a clear yes (unreachable, no such tag, another image, an index) means "push it".
 */
export async function alreadyPushed(
  engine: Pick<Engine, 'inspect'>,
  reference: string,
  access: RegistryAccess,
): Promise<boolean> {
  const local = await engine.inspect(reference);
  if (!local.ok || local.value.id === '') return false;
  return registryHoldsImage(reference, local.value.id, access);
}

export async function registryHoldsImage(reference: string, imageId: string, access: RegistryAccess): Promise<boolean> {
  const parsed = splitReference(reference);
  if (parsed === undefined) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ASK_TIMEOUT_MS)));
  try {
    const login = access.login?.registry === parsed.registry ? access.login : undefined;
    const client = new RegistryClient(parsed.registry, login, { insecure: access.insecure });
    const manifest = await Promise.race([client.getManifest(parsed.repository, parsed.tag), timeout]);
    const configDigest = manifest?.config.digest;
    return typeof configDigest === 'string' && withoutAlgorithm(configDigest) === withoutAlgorithm(imageId);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function withoutAlgorithm(digest: string): string {
  return digest.replace(/^sha256:/, '');
}
