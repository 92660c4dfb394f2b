/**
 * The import graph of src/: every module with the modules of src/ it imports, type imports,
 * re-exports and dynamic import() included (a dependency of types is a dependency of concerns).
 * Shared by the module-map test and the climbs measurement, so both read the same graph.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const projectRoot = resolve(dirname(new URL(import.meta.url).pathname), '..');
export const sourceRoot = join(projectRoot, 'src');

/** Module path relative to src/ (`run/settings.ts`) → the src/ modules it imports, the same way. */
export type ImportGraph = Map<string, string[]>;

export function importGraph(root = sourceRoot): ImportGraph {
  const modules = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.ts'));
  return new Map(
    modules.sort().map((module) => [
      module,
      ts
        .preProcessFile(readFileSync(join(root, module), 'utf8'), true, false)
        .importedFiles.map((file) => file.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => relative(root, resolve(dirname(join(root, module)), name.replace(/\.js$/, '.ts')))),
    ]),
  );
}

/** The top-level folder of src/ a module belongs to (`run` for run/settings.ts). */
export function folderOf(module: string): string {
  const [folder = module] = module.split('/');
  return folder;
}

/** Folder → the other folders its modules import, each with the imports that make the edge. */
export function folderEdges(graph: ImportGraph): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const [module, imported] of graph) {
    const from = folderOf(module);
    for (const target of imported) {
      const to = folderOf(target);
      if (to === from) continue;
      const targets = edges.get(from) ?? new Map<string, string[]>();
      edges.set(from, targets);
      targets.set(to, [...(targets.get(to) ?? []), `${module} -> ${target}`]);
    }
  }
  return edges;
}
