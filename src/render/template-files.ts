import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { compiledTemplateFile, compiledTemplateKey } from './compiled-cache.js';
import { asNunjucksSource } from './jinja-compat.js';
import { environmentOptions } from './renderer.js';

const TEMPLATE_SUFFIX = '.j2';

/**
 * Every template of the image trees (`*.j2`, hidden folders left out), by absolute path: a
 * Kolla tree has about two hundred small ones, cheaper to read all than to find which a
 * render includes. A symlink counts only when it points at a file inside its own tree.
 */
export async function readTemplateFiles(trees: readonly string[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const tree of trees) {
    const realTree = await realpath(tree);
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith(TEMPLATE_SUFFIX) && (await isTemplateFile(entry, path, realTree))) found.push(path);
      }
    };
    await walk(tree);
    const texts = await Promise.all(found.map((path) => readFile(path, 'utf8')));
    found.forEach((path, index) => files.set(path, texts[index] ?? ''));
  }
  return files;
}

async function isTemplateFile(entry: Dirent, path: string, realTree: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    const target = await realpath(path);
    return target.startsWith(realTree + sep) && (await stat(target)).isFile();
  } catch {
    return false;
  }
}

/**
 * The compiled code earlier runs kept for these templates (name → text, named as the loader
 * names them), by key; templates not compiled yet are simply missing.
 */
export async function readCompiledTemplates(
  dir: string,
  templates: Iterable<readonly [string, string]>,
): Promise<Map<string, string>> {
  const keyOf = ([name, text]: readonly [string, string]) => compiledTemplateKey(name, asNunjucksSource(text), environmentOptions);
  const keys = [...templates].map(keyOf);
  const read = (key: string) => readFile(compiledTemplateFile(dir, key), 'utf8').catch(() => undefined);
  const codes = await Promise.all(keys.map(read));
  const known = new Map<string, string>();
  keys.forEach((key, index) => {
    const code = codes[index];
    if (code !== undefined) known.set(key, code);
  });
  return known;
}
