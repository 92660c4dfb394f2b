import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../files.js';
import { SNAPSHOT_SUITE, SNAPSHOT_VERSIONS, type SnapshotName } from '../snapshot-repos.js';

/** The CI fixture: a minbase bootstrap, plus packages bookworm-updates and -security move (and memcached, which C bumps). */
export const TINY_PACKAGES = ['tzdata', 'openssl', 'libssl3', 'memcached', 'libexpat1'];

/**
 * The bundled config with one pinned repository: the stand-in Pulp's distribution `debian/` at the snapshot's
 * version, unsigned (aptly publishes it so), the images of `imagesDir` and the package cache in `cacheDir`.
 */
export function snapshotConfig(
  pulpOrigin: string,
  imagesDir: string,
  cacheDir: string,
  snapshot: SnapshotName = 'A',
): string {
  const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8');
  const repositories = `    repositories:
      - name: debian
        base_path: debian/
        version: "${SNAPSHOT_VERSIONS[snapshot]}"
        suites: [${SNAPSHOT_SUITE}]
        trusted: true
`;
  return `${bundled
    .replace(/^ {4}repositories:\n(?: {6}.*\n)+/m, repositories)
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${imagesDir}`)}
pulp:
  url: ${pulpOrigin}
proxy:
  cache_dir: ${cacheDir}
`;
}
