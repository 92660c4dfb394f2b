import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where `name` would be run from, as a shell finds it on PATH: the first executable file of that name, or
 * undefined. Asked once when an engine is made, so that what the engine can do is known before a plan is made.
 */
export function commandOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there, or not executable: the next folder, as the shell would.
    }
  }
  return undefined;
}
