import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyBundledImages, temporaryDir, writeTree } from './files.js';
import type { TestRegistry } from './registry.js';

export interface BuildWorkspace {
  dir: string;
  configDir: string;
  imagesDir: string;
  runsDir: string;
}

/** This test process's own key, for a run of test files started without one (a file run by hand). */
const processKey = `${Date.now()}-${Math.random().toString(36).slice(2)}`;

/**
 * A config that builds a private copy of the bundled image tree and pushes to the test registry.
 * A label in the base image makes the first build of a test run a real cold build, even on a host
 * whose engine already holds images of the bundled tree. The label is the run's key
 * (CI_BUILDER_TEST_RUN, which test/run-suite.ts sets once for every file), so the workspaces of one
 * run share one cold build per engine: an engine that already built the subset in this run reuses
 * it. `apart` names a workspace whose first build must be cold even so (a test of that cold build
 * on an engine another workspace of the run already built on).
 */
export function buildWorkspace(
  registry: TestRegistry,
  options: { engine?: string; apart?: string } = {},
): BuildWorkspace {
  const dir = temporaryDir('ci-builder-build-');
  const imagesDir = copyBundledImages(join(dir, 'images'));
  const baseTemplate = join(imagesDir, 'base/Dockerfile.j2');
  const runKey = process.env.CI_BUILDER_TEST_RUN ?? processKey;
  const nonce = options.apart === undefined ? runKey : `${runKey}-${options.apart}`;
  writeFileSync(
    baseTemplate,
    readFileSync(baseTemplate, 'utf8').replace(
      '{{ macros.image_labels() }}',
      `{{ macros.image_labels() }}\nLABEL ci-builder.test-run="${nonce}"`,
    ),
  );
  const bundled = readFileSync(new URL('../../etc/ci-builder/config.yml', import.meta.url), 'utf8');
  const config = bundled
    .replace(/^registry: .*$/m, `registry: ${registry.address}`)
    .replace(/^engine: .*$/m, `engine: ${options.engine ?? 'buildah'}`)
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${imagesDir}`);
  writeTree(dir, {
    'etc/config.yml': config,
    'etc/secrets.yml': `registry_username: ${registry.username}\nregistry_password: ${registry.password}\n`,
  });
  return { dir, configDir: join(dir, 'etc'), imagesDir, runsDir: join(dir, '.ci-builder/runs') };
}
