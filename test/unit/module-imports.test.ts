import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { projectRoot } from '../helpers/files.js';

const sourceRoot = join(projectRoot, 'src');

/** Every module of src/ and the modules of src/ it imports (types too: a cycle of types is a cycle of concerns). */
function importGraph(): Map<string, string[]> {
  const modules = readdirSync(sourceRoot, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(sourceRoot, path));
  return new Map(
    modules.map((module) => [
      module,
      ts
        .preProcessFile(readFileSync(module, 'utf8'), true, false)
        .importedFiles.map((file) => file.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => resolve(dirname(module), name.replace(/\.js$/, '.ts'))),
    ]),
  );
}

/** The import cycles of the graph, each as the modules along it, back to the first. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string): void => {
    path.push(module);
    for (const imported of graph.get(module) ?? []) {
      const at = path.indexOf(imported);
      if (at !== -1) cycles.push([...path.slice(at), imported]);
      else if (!done.has(imported)) visit(imported);
    }
    path.pop();
    done.add(module);
  };
  for (const module of graph.keys()) if (!done.has(module)) visit(module);
  return cycles;
}

describe('the module map', () => {
  it('has no import cycle: every module of src/ can be read before the ones that import it', () => {
    const graph = importGraph();
    assert.ok(graph.size > 100, 'the modules of src/ are found');
    const shown = cyclesOf(graph).map((cycle) => cycle.map((module) => relative(sourceRoot, module)).join(' -> '));
    assert.deepEqual(shown, []);
  });
});
