import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { linkProblemText, realFolder, walkTree } from '../catalog/tree-links.js';
import { compiledTemplateFile, compiledTemplateKey } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';
import type { TemplateFiles } from './memory-loader.js';
import { environmentOptions } from './renderer.js';

const TEMPLATE_SUFFIX = '.j2';
/**
 * Templates may import any file of the tree by a name they build (2024.1's rabbitmq imports
 * `rabbitmq_packages_rpm.<distro>`), as kolla-build's loader serves every file: small ones are read too.
 */
const OTHER_FILE_MAX_BYTES = 64 * 1024;

/**
 * Every template of the image trees (`*.j2` and small other files, hidden ones left out), by absolute path: a
 * Kolla tree has about two hundred small ones, cheaper to read all than to find which a
 * render includes (read one after the other: for small files faster than through the thread
 * pool). Links are followed only while they stay inside their own tree; the ones that leave
 * it, point to nothing or loop are kept with the line that refuses them, their targets unread,
 * so that a template reached through one is refused by name rather than merely not found.
 */
export function readTemplateFiles(trees: readonly string[]): TemplateFiles {
  const texts = new Map<string, string>();
  const refusedLinks = new Map<string, string>();
  for (const tree of trees) {
    walkTree(realFolder(tree), tree, {
      // A hidden link is still judged: an include may name a path through it.
      refused: ({ path }, problem) => refusedLinks.set(path, linkProblemText(problem, relative(tree, path), path)),
      folder: ({ name }) => !name.startsWith('.'),
      file: ({ path, name }, realPath) => {
        if (name.startsWith('.')) return;
        if (!name.endsWith(TEMPLATE_SUFFIX) && statSync(realPath).size > OTHER_FILE_MAX_BYTES) return;
        // The checked real path is what is read, so the link cannot change between check and read.
        texts.set(path, readFileSync(realPath, 'utf8'));
      },
    });
  }
  return { texts, refusedLinks };
}

/**
 * The compiled code earlier runs kept for these templates (name → text, named as the loader
 * names them), by key; templates not compiled yet are simply missing.
 */
export function readCompiledTemplates(
  dir: string,
  templates: Iterable<readonly [string, string]>,
): Map<string, string> {
  const known = new Map<string, string>();
  for (const [name, text] of templates) {
    const key = compiledTemplateKey(name, asNunjucksSource(text), environmentOptions);
    try {
      known.set(key, readFileSync(compiledTemplateFile(dir, key), 'utf8'));
    } catch {
      // not compiled yet
    }
  }
  return known;
}
