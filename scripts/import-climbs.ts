/**
 * How far a command's code climbs back up the data flow: from src/cli/main.ts through one command
 * (its file and everything it imports, transitively), the files on that path and the imports that
 * go from a lower floor of the flow to a higher one. A climb is a module reaching back up for
 * something the layer above should have handed it (a work module reading the whole configuration
 * instead of the settings it needs, a reporter calling into a run).
 *
 * The floors follow the data flow of docs/architecture.md (DESIGN.md's "Data flow"), top to bottom:
 *
 *   cli → app → pipeline → run (with the command domains beside it: shard, tags, doctor)
 *       → config (layers + environment + vault secrets: what a run is asked to do)
 *       → plan, schedule, report (the pure plan, the executor, the reporters of its events)
 *       → catalog, render, sources, bootstrap, respin, scan, verify, smoke (the work of one image)
 *       → engine, registry, repos, proxy (adapters to the outside)
 *       → kolla, vault (formats read for the layers above)
 *       → util
 *
 * Config sits right under the run: the run's settings are resolved from it once, and what runs below
 * is handed its part; a module below reading config/ is a climb. An import within one floor is not.
 *
 *   node --import tsx scripts/import-climbs.ts [--json] [command...]   (default: build pipeline)
 *
 * Without --json it prints a table per command and writes bench/results/import-climbs.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderOf, importGraph, projectRoot, type ImportGraph } from './import-graph.js';

export const FLOORS: readonly (readonly string[])[] = [
  ['cli'],
  ['app'],
  ['pipeline'],
  ['run', 'shard', 'tags', 'doctor'],
  ['config'],
  ['plan', 'schedule', 'report'],
  ['catalog', 'render', 'sources', 'bootstrap', 'respin', 'scan', 'verify', 'smoke'],
  ['engine', 'registry', 'repos', 'proxy'],
  ['kolla', 'vault'],
  ['util'],
];

export function floorOf(folder: string): number {
  const floor = FLOORS.findIndex((folders) => folders.includes(folder));
  if (floor === -1) throw new Error(`src/${folder}/ has no floor in FLOORS: add it where the data flow puts it`);
  return floor;
}

export interface FolderClimbs {
  folder: string;
  floor: number;
  files: number;
  climbs: number;
}

export interface CommandClimbs {
  command: string;
  files: number;
  climbs: number;
  folders: FolderClimbs[];
  /** Each climbing import, `from -> to`. */
  imports: string[];
}

/** The modules on a command's path: main.ts, the program, and the command's file with all it imports. */
export function commandPath(graph: ImportGraph, command: string): Set<string> {
  const commandFile = `cli/commands/${command}.ts`;
  if (!graph.has(commandFile)) throw new Error(`no command file src/${commandFile}`);
  const path = new Set<string>();
  const visit = (module: string): void => {
    if (path.has(module)) return;
    path.add(module);
    for (const imported of graph.get(module) ?? []) {
      // The program registers every command: only the one measured is on the path.
      const otherCommand = module === 'cli/program.ts' && imported.startsWith('cli/commands/');
      if (!otherCommand || imported === commandFile) visit(imported);
    }
  };
  visit('cli/main.ts');
  return path;
}

export function measureClimbs(graph: ImportGraph, command: string): CommandClimbs {
  const path = commandPath(graph, command);
  const folders = new Map<string, FolderClimbs>();
  const imports: string[] = [];
  for (const module of path) {
    const folder = folderOf(module);
    const row = folders.get(folder) ?? { folder, floor: floorOf(folder), files: 0, climbs: 0 };
    folders.set(folder, row);
    row.files += 1;
    for (const imported of graph.get(module) ?? []) {
      if (floorOf(folderOf(imported)) >= row.floor) continue;
      row.climbs += 1;
      imports.push(`${module} -> ${imported}`);
    }
  }
  const rows = [...folders.values()].sort((a, b) => a.floor - b.floor || a.folder.localeCompare(b.folder));
  return { command, files: path.size, climbs: imports.length, folders: rows, imports };
}

function table(measured: CommandClimbs): string {
  const lines = [
    `${measured.command}: ${measured.files} files, ${measured.climbs} climbs`,
    'floor  folder     files  climbs',
  ];
  for (const row of measured.folders) {
    lines.push(
      `${String(row.floor).padStart(5)}  ${row.folder.padEnd(9)}  ${String(row.files).padStart(5)}  ${String(row.climbs).padStart(6)}`,
    );
  }
  return [...lines, ...measured.imports.map((line) => `  climbs: ${line}`), ''].join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const commands = args.filter((arg) => arg !== '--json');
  const graph = importGraph();
  const measured = (commands.length > 0 ? commands : ['build', 'pipeline']).map((command) =>
    measureClimbs(graph, command),
  );
  const document = `${JSON.stringify({ measured_at: new Date().toISOString(), floors: FLOORS, commands: measured }, null, 2)}\n`;
  if (json) process.stdout.write(document);
  else {
    process.stdout.write(measured.map(table).join('\n'));
    const dir = join(projectRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'import-climbs.json'), document);
    process.stdout.write(`written ${join('bench', 'results', 'import-climbs.json')}\n`);
  }
}
