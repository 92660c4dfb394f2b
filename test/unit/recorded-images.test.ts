import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordedImages } from '../../src/run/recorded-images.js';
import { temporaryDir } from '../helpers/files.js';

/** A run folder with a summary recording these images, its summary dated `minutesAgo`. */
function runFolder(runsDir: string, name: string, minutesAgo: number, images: Record<string, unknown>): void {
  const folder = join(runsDir, name);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'summary.json');
  writeFileSync(file, JSON.stringify({ built: [], images }));
  const when = new Date(Date.now() - minutesAgo * 60_000);
  utimesSync(file, when, when);
}

const record = (digest: string, id: string, status = 'built') => ({ input_digest: digest, image_id: id, status });

describe('the images earlier runs recorded', () => {
  it('maps input digests to image ids, the newest run winning, built and reused only', async () => {
    const runs = temporaryDir('ci-builder-runs-');
    runFolder(runs, 'older', 30, {
      base: record('sha256:base', 'sha256:base-old'),
      cron: record('sha256:cron', 'sha256:cron-old'),
    });
    runFolder(runs, 'newer', 5, {
      base: record('sha256:base', 'sha256:base-new', 'reused'),
      keystone: record('sha256:keystone', 'sha256:keystone-failed', 'failed'),
      memcached: { input_digest: 'sha256:memcached', status: 'built' },
    });
    const recorded = await recordedImages(runs);
    assert.deepEqual([...recorded.byInput].sort(), [
      ['sha256:base', 'sha256:base-new'],
      ['sha256:cron', 'sha256:cron-old'],
    ]);
  });

  it('reads only the newest runs, and skips what is not a summary', async () => {
    const runs = temporaryDir('ci-builder-runs-');
    runFolder(runs, 'oldest', 60, { base: record('sha256:base', 'sha256:base-oldest') });
    runFolder(runs, 'middle', 30, { cron: record('sha256:cron', 'sha256:cron-middle') });
    runFolder(runs, 'newest', 5, { keystone: record('sha256:keystone', 'sha256:keystone-newest') });
    mkdirSync(join(runs, 'broken'));
    writeFileSync(join(runs, 'broken', 'summary.json'), '{"images": ');
    mkdirSync(join(runs, 'no-summary'));
    writeFileSync(join(runs, 'stray-file'), 'not a run');
    assert.deepEqual([...(await recordedImages(runs, 3)).byInput.keys()].sort(), ['sha256:cron', 'sha256:keystone']);
  });

  it('reads the summary of each distro and set of a pipeline as well', async () => {
    const runs = temporaryDir('ci-builder-runs-');
    runFolder(runs, 'zed-20261126T000000/debian/overcloud', 10, { keystone: record('sha256:keystone', 'sha256:k') });
    runFolder(runs, 'zed-20261126T000000/rocky/seed', 10, { bifrost: record('sha256:bifrost', 'sha256:b') });
    runFolder(runs, 'build-run', 20, { cron: record('sha256:cron', 'sha256:c') });
    assert.deepEqual([...(await recordedImages(runs)).byInput.keys()].sort(), [
      'sha256:bifrost',
      'sha256:cron',
      'sha256:keystone',
    ]);
  });

  it('is empty for a runs folder that does not exist', async () => {
    const missing = await recordedImages(join(temporaryDir('ci-builder-runs-'), 'missing'));
    assert.deepEqual([missing.byInput.size, missing.byRecipe.size], [0, 0]);
  });

  it('maps recipe digests to the newest image of that recipe, patched images included', async () => {
    const runs = temporaryDir('ci-builder-runs-');
    const withRecipe = (input: string, recipe: string, id: string, status = 'built') => ({
      ...record(input, id, status),
      recipe_digest: recipe,
    });
    runFolder(runs, 'at-snapshot-1', 30, {
      base: withRecipe('sha256:base-1', 'sha256:base-recipe', 'sha256:base-built'),
      cron: withRecipe('sha256:cron-1', 'sha256:cron-recipe', 'sha256:cron-built'),
    });
    runFolder(runs, 'at-snapshot-2', 5, {
      base: withRecipe('sha256:base-2', 'sha256:base-recipe', 'sha256:base-patched', 'patched'),
      cron: withRecipe('sha256:cron-2', 'sha256:cron-recipe', 'sha256:cron-failed', 'failed'),
    });
    const recorded = await recordedImages(runs);
    assert.deepEqual([...recorded.byRecipe].sort(), [
      ['sha256:base-recipe', ['sha256:base-patched', 'sha256:base-built']],
      ['sha256:cron-recipe', ['sha256:cron-built']],
    ]);
    assert.equal(recorded.byInput.get('sha256:base-2'), 'sha256:base-patched');
  });

  it(
    'passes over a summary.json that is a FIFO at once, instead of waiting for a writer',
    { timeout: 10_000 },
    async () => {
      const runs = temporaryDir('ci-builder-runs-');
      runFolder(runs, 'good', 30, { base: record('sha256:base', 'sha256:base-id') });
      mkdirSync(join(runs, 'planted'));
      execFileSync('mkfifo', [join(runs, 'planted', 'summary.json')]);
      assert.deepEqual([...(await recordedImages(runs)).byInput], [['sha256:base', 'sha256:base-id']]);
    },
  );
});
