import type { EngineFailure } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import type { EventBus } from '../report/events.js';
import type { ParentFromShard } from '../shard/restrict-plan.js';
import { ok, fail, type Result } from '../util/result.js';
import { pullParentFromRegistry } from './parent-from-registry.js';
import type { RegistryLogin } from './registry-auth.js';

/** How a shard's run takes the parents other shards build. */
export interface ShardRun {
  /** `k/n`: this run's shard. */
  label: string;
  fromOtherShards: ParentFromShard[];
  /** How long to wait for each such parent to reach the registry. */
  waitMs: number;
  pollMs: number;
}

export interface RegistryAccessForPull {
  insecure: boolean;
  authFile?: string;
  login?: RegistryLogin;
}

/** The reason in the summary's `skipped` of a parent another shard built. */
export const builtByShardReason = (builtBy: string): string => `built by shard ${builtBy}`;

/**
 * A parent built by another shard: waited for in the registry by its input digest, pulled by digest and
 * tagged for its children; reported as skipped (this run neither builds nor pushes it).
 */
export async function takeParentFromShard(
  context: { engine: Parameters<typeof pullParentFromRegistry>[0]; events: EventBus },
  parent: { image: PlannedImage; builtBy: string },
  settings: { access: RegistryAccessForPull; waitMs: number; pollMs: number; signal: AbortSignal },
): Promise<Result<void, EngineFailure>> {
  const { events } = context;
  const { name, reference, inputDigest } = parent.image;
  const onLine = (line: string) => events.emit({ type: 'image', reason: 'log', name, line });
  onLine(`waiting for ${reference} (input digest ${inputDigest}), built by shard ${parent.builtBy}`);
  const pulled = await pullParentFromRegistry(
    context.engine,
    { reference, inputDigest },
    {
      insecure: settings.access.insecure,
      timeoutMs: settings.waitMs,
      pollMs: settings.pollMs,
      onLine,
      signal: settings.signal,
      ...(settings.access.authFile ? { authFile: settings.access.authFile } : {}),
      ...(settings.access.login ? { login: settings.access.login } : {}),
    },
  );
  if (!pulled.ok) return fail(pulled.failure);
  events.emit({ type: 'image', reason: 'skipped', name, because: builtByShardReason(parent.builtBy) });
  return ok(undefined);
}
