/** The versus-kolla bench's table: wall seconds of each tool per scenario, and the ratios that matter. */
import type { Measurement } from './runners.js';
import { scenarioPlan, type Scenario } from './scenarios.js';
import { ENGINE_TOOLS, type EngineTool, type Tool } from './workspace.js';

export interface ScenarioResult {
  scenario: Scenario;
  /** 1-minute load average when the scenario started: other work on the machine. */
  loadAverage: number;
  runs: Partial<Record<Tool, Measurement>>;
}

export interface Row {
  scenario: Scenario;
  title: string;
  loadAverage: number;
  seconds: Partial<Record<Tool, number>>;
  built: Partial<Record<Tool, number>>;
  failed: Partial<Record<Tool, string[]>>;
  /** ci-builder ÷ kolla-build in the same scenario. */
  versusKollaBuild: Partial<Record<EngineTool, number>>;
  /** Each tool's seconds ÷ its own cold seconds. */
  versusOwnCold: Partial<Record<Tool, number>>;
  bytesFromUpstream: Partial<Record<EngineTool, number | null>>;
}

export function rows(results: readonly ScenarioResult[], tools: readonly Tool[]): Row[] {
  const cold = results.find((result) => result.scenario === 'cold');
  return results.map(({ scenario, loadAverage, runs }) => {
    const row: Row = {
      scenario,
      title: scenarioPlan(scenario).title,
      loadAverage,
      seconds: {},
      built: {},
      failed: {},
      versusKollaBuild: {},
      versusOwnCold: {},
      bytesFromUpstream: {},
    };
    for (const tool of tools) {
      const run = runs[tool];
      if (run === undefined) continue;
      row.seconds[tool] = run.seconds;
      row.built[tool] = run.built.length;
      if (run.exitCode !== 0 || run.failed.length > 0) row.failed[tool] = run.failed;
      const ownCold = cold?.runs[tool]?.seconds;
      if (ownCold !== undefined) row.versusOwnCold[tool] = run.seconds / ownCold;
    }
    const kollaBuild = runs['kolla-build']?.seconds;
    for (const tool of ENGINE_TOOLS) {
      const run = runs[tool];
      if (run === undefined) continue;
      if (kollaBuild !== undefined) row.versusKollaBuild[tool] = run.seconds / kollaBuild;
      row.bytesFromUpstream[tool] = run.bytesFromUpstream;
    }
    return row;
  });
}

const seconds = (row: Row, tool: Tool) => {
  const value = row.seconds[tool];
  if (value === undefined) return '-';
  const failed = row.failed[tool] === undefined ? '' : ' (failed)';
  return `${value.toFixed(1)} (${row.built[tool] ?? 0})${failed}`;
};
const ratio = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));
const megabytes = (value: number | null | undefined) =>
  value === undefined || value === null ? '-' : (value / 1e6).toFixed(1);

/** One column group per engine that ran in any scenario: the table stays as wide as the run. */
export function table(allRows: readonly Row[]): string[] {
  const engines = ENGINE_TOOLS.filter((tool) => allRows.some((row) => row.seconds[tool] !== undefined));
  const header = [
    'scenario',
    'load',
    'kolla-build s (built)',
    ...engines.flatMap((tool) => [`ci-builder ${tool} s (built)`, `${tool} ÷ kolla-build`]),
    ...engines.map((tool) => `${tool} ÷ own cold`),
    'kolla-build ÷ own cold',
    `upstream MB ${engines.join(' / ')}`,
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| --- | ${header
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
  ];
  for (const row of allRows) {
    const cells = [
      row.title,
      row.loadAverage.toFixed(1),
      seconds(row, 'kolla-build'),
      ...engines.flatMap((tool) => [seconds(row, tool), ratio(row.versusKollaBuild[tool])]),
      ...engines.map((tool) => ratio(row.versusOwnCold[tool])),
      ratio(row.versusOwnCold['kolla-build']),
      engines.map((tool) => megabytes(row.bytesFromUpstream[tool])).join(' / '),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Package cache bytes from upstream, base changed ÷ cold, per ci-builder engine ("-" without the counter). */
export function packageCacheRatios(allRows: readonly Row[]): string {
  const of = (scenario: Scenario, tool: EngineTool) =>
    allRows.find((row) => row.scenario === scenario)?.bytesFromUpstream[tool];
  const parts = ENGINE_TOOLS.map((tool) => {
    const [cold, base] = [of('cold', tool), of('base', tool)];
    const value = typeof cold === 'number' && typeof base === 'number' && cold > 0 ? (base / cold).toFixed(2) : '-';
    return `${tool} ${value}`;
  });
  return `bytes from upstream, base changed ÷ cold: ${parts.join(', ')}`;
}
