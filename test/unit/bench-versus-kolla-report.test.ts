import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows, table } from '../../bench/versus-kolla/report.js';
import type { Measurement } from '../../bench/versus-kolla/runners.js';
import type { Tool } from '../../bench/versus-kolla/workspace.js';

function run(tool: Tool, seconds: number, bytesFromUpstream: number | null = null): Measurement {
  return {
    tool,
    label: 'cold',
    tag: `t-${tool}`,
    seconds,
    exitCode: 0,
    built: ['base', 'cron'],
    reused: [],
    failed: [],
    bytesFromUpstream,
    steps: null,
    dockerfiles: new Map(),
    log: '',
  };
}

describe('the versus-kolla table', () => {
  const results = [
    {
      scenario: 'cold' as const,
      loadAverage: 0.5,
      runs: {
        'kolla-build': run('kolla-build', 300),
        docker: run('docker', 210, 4e6),
        podman: run('podman', 270, 5e6),
      },
    },
    {
      scenario: 'base' as const,
      loadAverage: 1.5,
      runs: {
        'kolla-build': run('kolla-build', 240),
        docker: run('docker', 180, 1e6),
        podman: run('podman', 135, 2e6),
      },
    },
  ];
  const tools: Tool[] = ['kolla-build', 'docker', 'podman'];

  it('has a column group for each engine that ran, and none for one that did not', () => {
    const [header, rule, cold, base] = table(rows(results, tools));
    assert.equal(
      header,
      '| scenario | load | kolla-build s (built) | ci-builder docker s (built) | docker ÷ kolla-build | ' +
        'ci-builder podman s (built) | podman ÷ kolla-build | docker ÷ own cold | podman ÷ own cold | ' +
        'kolla-build ÷ own cold | upstream MB docker / podman |',
    );
    assert.equal(rule?.split('|').length, header.split('|').length);
    assert.match(
      cold ?? '',
      /\| 300\.0 \(2\) \| 210\.0 \(2\) \| 0\.70 \| 270\.0 \(2\) \| 0\.90 \| 1\.00 \| 1\.00 \| 1\.00 \| 4\.0 \/ 5\.0 \|$/,
    );
    assert.match(
      base ?? '',
      /\| 240\.0 \(2\) \| 180\.0 \(2\) \| 0\.75 \| 135\.0 \(2\) \| 0\.56 \| 0\.86 \| 0\.50 \| 0\.80 \| 1\.0 \/ 2\.0 \|$/,
    );
  });

  it('gives podman its ratio to kolla-build in the results', () => {
    const [cold] = rows(results, tools);
    assert.equal(cold?.versusKollaBuild.podman, 0.9);
    assert.equal(cold.versusKollaBuild.buildah, undefined);
  });
});
