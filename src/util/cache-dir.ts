import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Host-wide cache (bootstrapped root filesystems): shared by every run and engine on the host. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CI_BUILDER_CACHE_DIR) return resolve(env.CI_BUILDER_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'ci-builder');
}
