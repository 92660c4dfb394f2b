import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunSummary } from '../../src/report/summary.js';
import { startCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

const buildahContainers = (): string[] =>
  (
    JSON.parse(
      execFileSync('buildah', ['--storage-driver', 'overlay', 'containers', '--json'], { encoding: 'utf8' }) || 'null',
    ) as Array<{ id: string }> | null
  )?.map((c) => c.id) ?? [];

describe('interrupting a run', { timeout: 10 * 60_000 }, () => {
  it('stops the engine, removes its containers, writes the partial summary and exits 130', async () => {
    const marker = `ci-builder-interrupt-${Date.now()}`;
    const overlay = writeTree(temporaryDir(), {
      'slow/Dockerfile.j2': `FROM {{ namespace }}/{{ image_prefix }}base:{{ tag }}\nRUN echo started-${marker} && sleep 300\n`,
      'slow-child/Dockerfile.j2': 'FROM {{ namespace }}/{{ image_prefix }}slow:{{ tag }}\n',
    });
    const cwd = temporaryDir();
    const before = new Set(buildahContainers());
    let sawStart: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (sawStart = resolve));
    const { child, done } = startCli(
      [
        '--config',
        join(projectRoot, 'etc/ci-builder'),
        '-v',
        'build',
        '--tag',
        'interrupt-1',
        '--images-dir',
        overlay,
        '^slow',
      ],
      {
        cwd,
        onStderr: (text) => text.includes(`started-${marker}`) && sawStart(),
      },
    );
    await started;
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.ok(Date.now() - interruptedAt < 60_000, 'stops well before the sleep would end');
    const summary = JSON.parse(
      readFileSync(join(cwd, '.ci-builder/runs/interrupt-1/summary.json'), 'utf8'),
    ) as RunSummary;
    assert.equal(summary.interrupted, true);
    const failed = summary.failed.map((entry) => [entry.name, entry.status]);
    assert.deepEqual(failed, [
      ['slow', 'interrupted'],
      ['slow-child', 'interrupted'],
    ]);
    assert.deepEqual(summary.skipped, []);
    assert.deepEqual(
      buildahContainers().filter((id) => !before.has(id)),
      [],
      'no build container left behind',
    );
    const sleeping = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(marker));
    assert.deepEqual(sleeping, [], 'no RUN step process left behind');
  });
});
