import { podmanServiceUrl } from '../engine/podman.js';
import { sharedStore } from '../engine/podman-stack.js';
import type { EngineName } from '../engine/types.js';
import { commandOnPath } from '../util/command-on-path.js';
import { ok, warn, type CheckResult } from './check.js';
import { checkCommand } from './host-checks.js';

/** Whether the chosen engine answers: its command, and for docker and a podman service, the daemon behind it. */
export async function checkEngineInstalled(
  engine: EngineName,
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckResult> {
  switch (engine) {
    case 'buildah':
      return checkCommand('buildah installed', 'buildah', ['--version'], 'apt-get install buildah');
    case 'docker':
      return checkCommand(
        'docker engine',
        '/usr/bin/docker',
        ['version', '--format', 'client {{.Client.Version}}, server {{.Server.Version}}'],
        'install docker.io and start dockerd, or set DOCKER_HOST',
      );
    case 'podman': {
      const service = podmanServiceUrl(url, env);
      if (service === undefined)
        return checkCommand('podman installed', 'podman', ['--version'], 'apt-get install podman');
      return checkCommand(
        'podman service',
        'podman',
        [
          '--url',
          service,
          'version',
          '--format',
          `client {{.Client.Version}}, server {{.Server.Version}} at ${service}`,
        ],
        `start \`podman system service --time=0 ${service}\` there, or fix engine_url / CONTAINER_HOST`,
      );
    }
    default: {
      const never: never = engine;
      return never;
    }
  }
}

const STACKING = 'respin stacking';
const UNSTACKED = 'a respin patches each child of a patched image as a whole, or rebuilds it on its parent';

/**
 * A local podman stacks a respin's patched children through buildah on the store the two share: whether it can
 * here. Nothing to say for another engine or a podman service (buildah always stacks; a service never does).
 */
export async function checkPodmanStacking(
  engine: EngineName,
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckResult | undefined> {
  if (engine !== 'podman' || podmanServiceUrl(url, env) !== undefined) return undefined;
  const buildah = commandOnPath('buildah', env);
  if (buildah === undefined) return warn(STACKING, `buildah is not installed: ${UNSTACKED}`, 'apt-get install buildah');
  const shared = await sharedStore('podman', buildah);
  if (!shared.ok)
    return warn(STACKING, `${shared.failure.message}: ${UNSTACKED}`, 'see that podman and buildah answer');
  if ('why' in shared.value) {
    return warn(STACKING, `${shared.value.why}: ${UNSTACKED}`, 'give podman and buildah one storage.conf');
  }
  return ok(STACKING, `through ${buildah}, on the store podman and buildah share (${shared.value.graphRoot})`);
}

const COMPOSING = 'respin composing at the registry';

/**
 * respin.compose registry or auto: whether this host can compose (buildah, or a local podman through buildah,
 * and getfattr to read overlayfs's marks). Nothing to say with `store`, nor of docker with `auto` (it stacks
 * nothing, so it has nothing to compose).
 */
export function checkRegistryComposition(
  engine: EngineName,
  compose: 'auto' | 'store' | 'registry',
  env: NodeJS.ProcessEnv = process.env,
): CheckResult | undefined {
  if (compose === 'store' || (compose === 'auto' && engine === 'docker')) return undefined;
  const instead = 'stacked images are put together in the store';
  if (engine === 'docker') {
    return warn(COMPOSING, `docker cannot compose (no layer folders): ${instead}`, 'set engine: buildah');
  }
  if (commandOnPath('getfattr', env) === undefined) {
    return warn(COMPOSING, `getfattr is not installed: ${instead}`, 'apt-get install attr');
  }
  // A local podman composes through buildah, as it stacks: its own check says whether it can.
  return ok(
    COMPOSING,
    `${engine}, getfattr: a run with --push composes its stacked images (a pipeline scans them first)`,
  );
}
