import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { parseParent } from './parent.js';
import { linkProblemText, realFolder, walkTree } from './tree-links.js';
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
  const found: string[] = [];
  const hidden = (name: string) => name.startsWith('.');
  const isTemplate = (path: string, name: string) => name === TEMPLATE_FILE && dirname(path) !== root;
  walkTree(realFolder(root), root, {
    refused: ({ path, name }, problem) => {
      // A refused link to a file is the business of the image whose context holds it, when that image is built.
      if (!hidden(name) && (isTemplate(path, name) || problem === 'loop' || isDirectory(path))) {
        throw new UsageError(`${root}: ${linkProblemText(problem, relative(root, path), path)}`);
      }
    },
    folder: ({ name }) => !hidden(name),
    file: ({ path, name }) => {
      if (!hidden(name) && isTemplate(path, name)) found.push(path);
    },
  });
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
