import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { floorOf } from '../../scripts/import-climbs.js';
import { folderEdges, importGraph, sourceRoot, type ImportGraph } from '../../scripts/import-graph.js';

/**
 * Which folders of src/ each folder may import, as the data flow of docs/architecture.md has it:
 * the command line reaches the rest through app/; app composes the run wing and the command
 * domains; the run drives plan, schedule and reporters; the work of one image sits on adapters
 * (engine, registry, repos, proxy); config, kolla and vault are read by the layers above; util
 * imports nothing. A new import between folders that is not listed here is a design change: make
 * it here, in docs/architecture.md, on purpose.
 */
const ALLOWED: Record<string, readonly string[]> = {
  cli: ['app', 'config', 'report', 'util'],
  app: [
    ...['catalog', 'config', 'doctor', 'engine', 'kolla', 'pipeline', 'plan', 'proxy', 'registry', 'render'],
    ...['report', 'run', 'scan', 'shard', 'smoke', 'tags', 'util', 'vault', 'verify'],
  ],
  pipeline: ['engine', 'plan', 'report', 'run', 'scan', 'util'],
  run: [
    ...['bootstrap', 'catalog', 'config', 'engine', 'plan', 'proxy', 'registry', 'render', 'report', 'repos'],
    ...['respin', 'schedule', 'shard', 'util', 'verify'],
  ],
  shard: ['catalog', 'config', 'plan', 'report', 'util'],
  tags: ['catalog', 'config', 'registry', 'report', 'util'],
  doctor: ['config', 'engine', 'proxy', 'registry', 'repos', 'run', 'util', 'vault'],
  plan: ['bootstrap', 'catalog', 'config', 'kolla', 'render', 'repos', 'sources', 'util'],
  schedule: ['util'],
  report: ['proxy', 'scan', 'util'],
  catalog: ['config', 'util'],
  render: ['catalog', 'config', 'kolla', 'util'],
  sources: ['config', 'util'],
  bootstrap: ['config', 'engine', 'repos', 'util'],
  respin: ['engine', 'repos', 'scan', 'util'],
  scan: ['config', 'engine', 'util'],
  verify: ['config', 'util'],
  smoke: ['engine'],
  engine: ['config', 'registry', 'util'],
  registry: ['util'],
  repos: ['config'],
  proxy: ['config', 'repos', 'util'],
  config: ['kolla', 'util', 'vault'],
  kolla: ['util'],
  vault: ['util'],
  util: [],
};

/** Folder cycles allowed, each with its reason. None: every folder can be read before the ones importing it. */
const ALLOWED_FOLDER_CYCLES: ReadonlyArray<{ cycle: string; why: string }> = [];

/** The most folders the command line may import: it parses, calls app/, prints. */
const CLI_FOLDER_LIMIT = 10;

/** The longest function a command file may hold: a command parses options, calls one function, prints. */
const COMMAND_FUNCTION_LINES = 60;
/** The longest function a run's module may hold: the run wing is split by concern, each step readable at once. */
const RUN_FUNCTION_LINES = 80;

const graph = importGraph();
const folders = readdirSync(sourceRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** The import cycles of a graph, each as the nodes along it, back to the first. */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): void => {
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at !== -1) cycles.push([...path.slice(at), next]);
      else if (!done.has(next)) visit(next);
    }
    path.pop();
    done.add(node);
  };
  for (const node of edges.keys()) if (!done.has(node)) visit(node);
  return cycles;
}

function folderGraph(modules: ImportGraph): Map<string, string[]> {
  return new Map([...folderEdges(modules)].map(([from, targets]) => [from, [...targets.keys()].sort()]));
}

describe('the module map', () => {
  it('has no import cycle: every module of src/ can be read before the ones that import it', () => {
    assert.ok(graph.size > 100, 'the modules of src/ are found');
    const shown = cyclesOf(graph).map((cycle) => cycle.join(' -> '));
    assert.deepEqual(shown, []);
  });

  it('places every folder of src/ in the table and on a floor of the data flow', () => {
    assert.deepEqual(Object.keys(ALLOWED).sort(), folders);
    for (const folder of folders) assert.doesNotThrow(() => floorOf(folder), folder);
  });

  it('lets each folder import only the folders the table allows', () => {
    const unexpected: string[] = [];
    for (const [from, targets] of folderEdges(graph)) {
      for (const [to, imports] of targets) {
        if (!(ALLOWED[from] ?? []).includes(to)) unexpected.push(`${from} -> ${to} (${imports[0] ?? ''})`);
      }
    }
    assert.deepEqual(unexpected, []);
  });

  it('has no cycle between folders but the ones listed with a reason', () => {
    const cycles = cyclesOf(folderGraph(graph)).map((cycle) => cycle.join(' -> '));
    assert.deepEqual(
      cycles,
      ALLOWED_FOLDER_CYCLES.map((allowed) => allowed.cycle),
    );
  });

  it('has the table itself free of folder cycles, so the layering it states is one order', () => {
    const table = new Map(Object.entries(ALLOWED));
    assert.deepEqual(cyclesOf(table), []);
  });

  it(`keeps src/cli/ to at most ${CLI_FOLDER_LIMIT} other folders of src/`, () => {
    const imported = folderGraph(graph).get('cli') ?? [];
    assert.ok(imported.includes('app'), 'the command line reaches the rest through app/');
    assert.ok(imported.length <= CLI_FOLDER_LIMIT, `src/cli imports ${imported.length}: ${imported.join(', ')}`);
  });

  it('finds a forbidden import when one is there (the check can fail)', () => {
    const planted: ImportGraph = new Map([
      ['util/a.ts', ['cli/main.ts']],
      ['cli/main.ts', ['util/a.ts']],
    ]);
    const edges = folderEdges(planted);
    assert.deepEqual([...(edges.get('util')?.keys() ?? [])], ['cli']);
    assert.ok(!(ALLOWED.util ?? []).includes('cli'));
    assert.deepEqual(cyclesOf(folderGraph(planted)), [['util', 'cli', 'util']]);
  });
});

/** Each function of a source file with its length in lines. */
function functionLengths(path: string): Array<{ name: string; lines: number }> {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Array<{ name: string; lines: number }> = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isMethodDeclaration(node)
    ) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name;
      const name = named ? node.name.getText(source) : `function at line ${start + 1}`;
      found.push({ name, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the command line stays thin', () => {
  it(`has no function of more than ${COMMAND_FUNCTION_LINES} lines in src/cli/commands/`, () => {
    const dir = join(sourceRoot, 'cli', 'commands');
    const files = readdirSync(dir).filter((file) => file.endsWith('.ts'));
    assert.ok(files.length >= 10, 'the command files are found');
    const long = files.flatMap((file) =>
      functionLengths(join(dir, file))
        .filter((fn) => fn.lines > COMMAND_FUNCTION_LINES)
        .map((fn) => `${file}: ${fn.name} (${fn.lines} lines)`),
    );
    assert.deepEqual(long, []);
  });

  it(`has no function of more than ${RUN_FUNCTION_LINES} lines in src/run/`, () => {
    const dir = join(sourceRoot, 'run');
    const files = readdirSync(dir).filter((file) => file.endsWith('.ts'));
    assert.ok(files.length >= 10, 'the run files are found');
    const long = files.flatMap((file) =>
      functionLengths(join(dir, file))
        .filter((fn) => fn.lines > RUN_FUNCTION_LINES)
        .map((fn) => `${file}: ${fn.name} (${fn.lines} lines)`),
    );
    assert.deepEqual(long, []);
  });

  it('imports no command from another command', () => {
    const crossing = [...graph]
      .filter(([module]) => module.startsWith('cli/commands/'))
      .flatMap(([module, imported]) =>
        imported
          .filter((target) => target.startsWith('cli/commands/') && !isHelperOf(module, target))
          .map((target) => `${module} -> ${target}`),
      );
    assert.deepEqual(crossing, []);
  });
});

/** kolla-build-options.ts and kolla-build-booleans.ts are parts of the kolla-build command, not commands. */
function isHelperOf(module: string, target: string): boolean {
  const command = module.replace(/^cli\/commands\//, '').replace(/\.ts$/, '');
  return target.startsWith(`cli/commands/${command}-`);
}
