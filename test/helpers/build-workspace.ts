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

/**
 * A config that builds a private copy of the bundled image tree and pushes to the test registry.
 * A unique label in the base image makes the first build a real cold build, even on a host
 * whose engine already holds images of the bundled tree.
 */
export function buildWorkspace(registry: TestRegistry, options: { engine?: string } = {}): BuildWorkspace {
  const dir = temporaryDir('ci-builder-build-');
  const imagesDir = copyBundledImages(join(dir, 'images'));
  const baseTemplate = join(imagesDir, 'base/Dockerfile.j2');
  const nonce = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
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
