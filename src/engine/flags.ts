import type { BuildRequest, RunRequest } from './types.js';

/** `--label k=v` pairs, spelled the same by buildah and docker. */
function labelFlags(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
}

/** The volume, environment and user flags of a run, spelled the same by `buildah run` and `docker run`. */
export function runFlags(request: RunRequest): string[] {
  return [
    ...(request.mount ? ['--volume', `${request.mount.hostDir}:${request.mount.containerDir}:ro`] : []),
    ...Object.entries(request.env ?? {}).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    ...(request.user ? ['--user', request.user] : []),
  ];
}

/** How buildah and podman reach a registry for a push or a pull: TLS checking and the run's auth file. */
export function registryFlags(request: { insecure: boolean; authFile?: string }): string[] {
  return [
    `--tls-verify=${request.insecure ? 'false' : 'true'}`,
    ...(request.authFile ? ['--authfile', request.authFile] : []),
  ];
}

/**
 * The part of a build command buildah, podman and docker spell alike: the context's Dockerfile, the
 * reference, the labels, no layer cache when asked, and the context folder last.
 */
export function buildTargetFlags(request: Pick<BuildRequest, 'reference' | 'labels' | 'noCache'>): string[] {
  return [
    '-f',
    'Dockerfile',
    '-t',
    request.reference,
    ...labelFlags(request.labels),
    ...(request.noCache ? ['--no-cache'] : []),
    '.',
  ];
}
