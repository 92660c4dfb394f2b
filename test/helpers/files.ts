import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A temporary folder removed when the test process ends (best effort: a daemon may still hold a mount in it). */
export function temporaryDir(prefix = 'ci-builder-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      process.stderr.write(`could not remove ${dir}: ${(error as Error).message}\n`);
    }
  });
  return dir;
}

/** Writes a map of relative paths to contents under a folder. */
export function writeTree(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return root;
}

/** A private copy of the bundled image tree that a test may change. */
export function copyBundledImages(target: string): string {
  cpSync(join(projectRoot, 'images'), target, { recursive: true });
  return target;
}

/** Bytes of every file under a folder (none when it does not exist yet). */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
}

/**
 * A label of its own in the tree's base image: every image gets a new input digest, so the next build is
 * a cold one whatever the engine already holds.
 */
export function markBaseImage(imagesDir: string, label: string): void {
  const template = join(imagesDir, 'base/Dockerfile.j2');
  const text = readFileSync(template, 'utf8');
  writeFileSync(
    template,
    text.replace('{{ macros.image_labels() }}', `{{ macros.image_labels() }}\nLABEL ${label}="${Date.now()}"`),
  );
}
