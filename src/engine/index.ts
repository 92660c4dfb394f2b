import { existsSync } from 'node:fs';
import { commandOnPath } from '../util/command-on-path.js';
import { BuildahEngine } from './buildah.js';
import { DockerEngine } from './docker.js';
import { PodmanEngine, podmanServiceUrl } from './podman.js';
import type { Engine, EngineName } from './types.js';

/** /usr/bin/docker is the client with BuildKit support on Debian; a bare `docker` may be another one. */
export const dockerCommand = (): string => (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

export interface EngineOptions {
  /** The config's engine_url: the podman service to use. */
  url?: string;
  env?: NodeJS.ProcessEnv;
}

export function createEngine(name: EngineName, options: EngineOptions = {}): Engine {
  switch (name) {
    case 'buildah':
      return new BuildahEngine();
    case 'docker':
      return new DockerEngine(dockerCommand());
    case 'podman': {
      const env = options.env ?? process.env;
      // A local podman stacks through buildah when it is installed: the two share one store (podman-stack.ts).
      return new PodmanEngine('podman', podmanServiceUrl(options.url, env), commandOnPath('buildah', env));
    }
    default: {
      const never: never = name;
      return never;
    }
  }
}

export type { Engine, EngineFailure, EngineFailureKind, EngineName } from './types.js';
