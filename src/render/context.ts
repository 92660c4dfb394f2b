import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { TEMPLATE_FILE } from '../catalog/discover.js';
import { judgeEntry, linkProblemText, realFolder } from '../catalog/tree-links.js';
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
export async function readContextFiles(image: ImageFolder): Promise<InlineContextFile[]> {
  const realTree = realFolder(image.treeRoot);
  const files: InlineContextFile[] = [];
  const walk = async (dir: string, realChain: readonly string[]) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const verdict = judgeEntry(entry, path, realChain, realTree);
      switch (verdict.kind) {
        case 'refused': {
          const text = linkProblemText(verdict.problem, contextPath(image.dir, path), path);
          throw new UsageError(`${image.name}: build context: ${text}`);
        }
        case 'folder':
          // A nested image folder is its own image, not part of this one's context.
          if (await exists(join(verdict.realPath, TEMPLATE_FILE))) break;
          await walk(path, [...realChain, verdict.realPath]);
          break;
        case 'file': {
          const executable = ((await stat(verdict.realPath)).mode & 0o111) !== 0;
          files.push({ path: contextPath(image.dir, path), executable, content: await readFile(verdict.realPath) });
          break;
        }
        case 'other':
          break;
        default: {
          const never: never = verdict;
          throw new Error(`unexpected entry ${JSON.stringify(never)}`);
        }
      }
    }
  };
  await walk(image.dir, [realFolder(image.dir)]);
  return files;
}

function contextPath(imageDir: string, path: string): string {
  return relative(imageDir, path).split('\\').join('/');
}

/** Writes the rendered Dockerfile and the context files into a build context folder. */
export async function writeBuildContext(
  outDir: string,
  dockerfile: string,
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
  await writeFileAtomic(join(outDir, 'Dockerfile'), dockerfile);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
