import { constants, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { TEMPLATE_FILE } from '../catalog/discover.js';
import { linkProblemText, realFolder, walkTree } from '../catalog/tree-links.js';
import type { ImageDefinition } from '../catalog/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';

/** A file of an image's build context: held in memory (small files of the image folder)… */
export interface InlineContextFile {
  /** Path relative to the image folder, '/'-separated. */
  path: string;
  executable: boolean;
  content: Buffer;
}

/** …or a fetched source archive left on disk in the cache (large; streamed, never held whole). */
export interface StoredContextFile {
  path: string;
  executable: false;
  /** Absolute path of the stored file. */
  file: string;
  /** What the input digest records for it (a content hash, or a git commit). */
  identity: string;
}

export type ContextFile = InlineContextFile | StoredContextFile;

type ImageFolder = Pick<ImageDefinition, 'name' | 'dir' | 'treeRoot'>;

/**
 * The files of an image folder that go into its build context (all of them, the template too, as kolla-build sends it).
 * Symlinks become the files they lead to, as kolla-build's copy of the tree makes them, but only
 * while they stay inside the image tree: one that leaves it, dangles or loops is bad input.
 */
export function readContextFiles(image: ImageFolder): Promise<InlineContextFile[]> {
  return readFolderFiles(image.treeRoot, image.dir, `${image.name}: build context`);
}

/**
 * The files of an image tree that are in no image's folder (`macros.j2` at its root), paths relative to the
 * tree: kolla-build copies the whole tree into its work dir, so --template-only leaves them there too.
 */
export function readTreeFiles(treeRoot: string): Promise<InlineContextFile[]> {
  return readFolderFiles(treeRoot, treeRoot, treeRoot);
}

/** Every file below `folder` but in nested image folders, links judged as the tree's rule says; `what` opens refusals. */
async function readFolderFiles(treeRoot: string, folder: string, what: string): Promise<InlineContextFile[]> {
  const found: { path: string; realPath: string }[] = [];
  walkTree(realFolder(treeRoot), folder, {
    refused: ({ path }, problem) => {
      throw new UsageError(`${what}: ${linkProblemText(problem, contextPath(folder, path), path)}`);
    },
    // A nested image folder is its own image, not part of this one's context.
    folder: (_entry, realPath) => !existsSync(join(realPath, TEMPLATE_FILE)),
    file: ({ path }, realPath) => found.push({ path, realPath }),
  });
  // The checked real paths are what is read, so a link cannot change between check and read.
  return Promise.all(
    found.map(async ({ path, realPath }) => ({
      path: contextPath(folder, path),
      executable: ((await stat(realPath)).mode & 0o111) !== 0,
      content: await readFile(realPath),
    })),
  );
}

function contextPath(folder: string, path: string): string {
  return relative(folder, path).split('\\').join('/');
}

/** Writes the rendered Dockerfile and the context files into a build context folder. */
export async function writeBuildContext(
  outDir: string,
  dockerfile: string,
  files: readonly ContextFile[],
  emptyDirs: readonly string[] = [],
): Promise<void> {
  await writeContextFiles(outDir, files, emptyDirs);
  await writeFileAtomic(join(outDir, 'Dockerfile'), dockerfile);
}

/** Writes files (and empty folders) below `outDir`, each at its path. */
export async function writeContextFiles(
  outDir: string,
  files: readonly ContextFile[],
  emptyDirs: readonly string[] = [],
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const dir of emptyDirs) await mkdir(join(outDir, dir), { recursive: true });
  for (const file of files) {
    const target = join(outDir, file.path);
    if ('content' in file) await writeFileAtomic(target, file.content, file.executable ? 0o755 : 0o644);
    else {
      await mkdir(dirname(target), { recursive: true });
      // Whatever was there (a link planted in an --out folder) is replaced, never written through.
      await rm(target, { force: true });
      await copyFile(file.file, target, constants.COPYFILE_EXCL);
    }
  }
}
