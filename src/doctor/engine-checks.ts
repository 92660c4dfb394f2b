import { podmanServiceUrl } from '../engine/podman.js';
import type { EngineName } from '../engine/types.js';
import type { CheckResult } from './check.js';
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
