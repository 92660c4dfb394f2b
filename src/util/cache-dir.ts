import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkOutputDir } from './output-path.js';

/**
 * Host-wide cache (bootstrapped root filesystems): shared by every run and engine on the host.
 * A folder named by a variable is checked like any output path (the default under the home
 * folder stays best effort for the caches that can do without it).
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CI_BUILDER_CACHE_DIR) return checkOutputDir(env.CI_BUILDER_CACHE_DIR, 'CI_BUILDER_CACHE_DIR');
  if (env.XDG_CACHE_HOME) return join(checkOutputDir(env.XDG_CACHE_HOME, 'XDG_CACHE_HOME'), 'ci-builder');
  return join(homedir(), '.cache', 'ci-builder');
}
