import { readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';
import { compiledTemplateFile, compiledTemplateKey } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';
import { environmentOptions } from './renderer.js';

const TEMPLATE_SUFFIX = '.j2';

/**
 * Every template of the image trees (`*.j2`, hidden folders left out), by absolute path: a
 * Kolla tree has about two hundred small ones, cheaper to read all than to find which a
 * render includes (read one after the other: for small files faster than through the thread
 * pool). A symlink counts only when it points at a file inside its own tree.
 */
export function readTemplateFiles(trees: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const tree of trees) {
    const realTree = realpathSync(tree);
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(TEMPLATE_SUFFIX) && isTemplateFile(entry, path, realTree)) {
          files.set(path, readFileSync(path, 'utf8'));
        }
      }
    };
    walk(tree);
  }
  return files;
}

function isTemplateFile(entry: Dirent, path: string, realTree: string): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    const target = realpathSync(path);
    return target.startsWith(realTree + sep) && statSync(target).isFile();
  } catch {
    return false;
  }
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
