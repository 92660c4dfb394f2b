import { execFileSync } from 'node:child_process';

const storage = ['--storage-driver', 'overlay'];

/**
 * `buildah images --format FORMAT`. The storage is the host's: an image another build removes while
 * buildah lists makes the listing fail ("image not known"); listed again, it is simply gone.
 */
export function buildahImages(format: string): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync('buildah', [...storage, 'images', '--format', format], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const { stderr } = error as { stderr?: string | Buffer };
      if (attempt >= 5 || !String(stderr ?? '').includes('image not known')) throw error;
    }
  }
}

/** A test's images (those under `/<namespace>/`) leave buildah's storage, as a fresh runner would not have them. */
export function forgetBuildahImages(namespace: string): void {
  const listed = buildahImages('{{.ID}} {{.Name}}');
  const ours = listed
    .split('\n')
    .filter((line) => line.includes(`/${namespace}/`))
    .map((line) => line.split(' ')[0] ?? '');
  const ids = [...new Set(ours)].filter((id) => id !== '');
  if (ids.length > 0) execFileSync('buildah', [...storage, 'rmi', '-f', ...ids], { stdio: 'ignore' });
}
