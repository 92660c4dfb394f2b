import { execFileSync } from 'node:child_process';

const storage = ['--storage-driver', 'overlay'];

/** A test's images (those under `/<namespace>/`) leave buildah's storage, as a fresh runner would not have them. */
export function forgetBuildahImages(namespace: string): void {
  const listed = execFileSync('buildah', [...storage, 'images', '--format', '{{.ID}} {{.Name}}'], { encoding: 'utf8' });
  const ours = listed
    .split('\n')
    .filter((line) => line.includes(`/${namespace}/`))
    .map((line) => line.split(' ')[0] ?? '');
  const ids = [...new Set(ours)].filter((id) => id !== '');
  if (ids.length > 0) execFileSync('buildah', [...storage, 'rmi', '-f', ...ids], { stdio: 'ignore' });
}
