import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { parseParent } from './parent.js';
import { judgeEntry, linkProblemText, realFolder } from './tree-links.js';
import type { Catalog, ImageDefinition } from './types.js';

export const TEMPLATE_FILE = 'Dockerfile.j2';

/** Scans image trees; a later tree's image replaces an earlier one of the same name. */
export function discoverCatalog(treeDirs: readonly string[]): Catalog {
  const images = new Map<string, ImageDefinition>();
  const trees = treeDirs.map((dir) => resolve(dir));
  for (const treeRoot of trees) {
    if (!isDirectory(treeRoot)) throw new UsageError(`${treeRoot}: image tree folder not found`);
    const seenInTree = new Map<string, string>();
    const templates = findTemplates(treeRoot);
    if (templates.length === 0) {
      throw new UsageError(`${treeRoot}: no images in this image tree (no <image>/${TEMPLATE_FILE} below it)`);
    }
    for (const templatePath of templates) {
      const dir = dirname(templatePath);
      const name = basename(dir);
      const earlier = seenInTree.get(name);
      if (earlier !== undefined) {
        throw new UsageError(
          `${treeRoot}: duplicate image name "${name}" in ${relative(treeRoot, earlier)} and ${relative(treeRoot, dir)}`,
        );
      }
      seenInTree.set(name, dir);
      const parsed = parseParent(readFileSync(templatePath, 'utf8'));
      if (parsed.kind === 'none') throw new UsageError(`${templatePath}: no FROM line`);
      images.set(name, {
        name,
        dir,
        treeRoot,
        templateName: relative(treeRoot, templatePath).split('\\').join('/'),
        parent: parsed.kind === 'tree' ? parsed.name : null,
      });
    }
  }
  const children = checkGraph(images);
  return { trees, images, children };
}

/**
 * Every <image>/Dockerfile.j2 below the root. Folder links are walked as kolla-build's copy of
 * the tree walks them, but only while they stay inside the tree and never back into a folder
 * they are in: a tree cannot send the walk elsewhere on the host, nor keep it going forever.
 */
function findTemplates(root: string): string[] {
  const realRoot = realFolder(root);
  const found: string[] = [];
  const walk = (dir: string, realChain: readonly string[]) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const isTemplate = entry.name === TEMPLATE_FILE && dir !== root;
      const verdict = judgeEntry(entry, path, realChain, realRoot);
      switch (verdict.kind) {
        case 'refused':
          // A refused link to a file is the business of the image whose context holds it, when that image is built.
          if (isTemplate || verdict.problem === 'loop' || isDirectory(path)) {
            throw new UsageError(`${root}: ${linkProblemText(verdict.problem, relative(root, path), path)}`);
          }
          break;
        case 'folder':
          walk(path, [...realChain, verdict.realPath]);
          break;
        case 'file':
          if (isTemplate) found.push(path);
          break;
        case 'other':
          break;
        default: {
          const never: never = verdict;
          throw new Error(`unexpected entry ${JSON.stringify(never)}`);
        }
      }
    }
  };
  walk(root, [realRoot]);
  return found;
}

/** Every parent exists and no image is its own ancestor; returns the children index. */
function checkGraph(images: Map<string, ImageDefinition>): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const image of [...images.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (image.parent === null) continue;
    if (!images.has(image.parent)) {
      throw new UsageError(
        `${join(image.dir, TEMPLATE_FILE)}: parent image "${image.parent}" is not in any image tree`,
      );
    }
    children.set(image.parent, [...(children.get(image.parent) ?? []), image.name]);
  }
  for (const image of images.values()) {
    const chain = [image.name];
    let current = image.parent;
    while (current !== null) {
      if (chain.includes(current)) {
        throw new UsageError(
          `image dependency cycle: ${[...chain.slice(chain.indexOf(current)), current].join(' -> ')}`,
        );
      }
      chain.push(current);
      current = images.get(current)?.parent ?? null;
    }
  }
  return children;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
