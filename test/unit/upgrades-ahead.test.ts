import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BLOB_UPLOAD } from '../../src/engine/registry-push.js';
import type { Engine, UpgradeAheadRequest, UpgradedAhead } from '../../src/engine/types.js';
import { EventBus, type RunEvent } from '../../src/report/events.js';
import { UpgradesAhead } from '../../src/run/upgrades-ahead.js';
import { ok, type Result } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { planOf, plannedImage } from '../helpers/run-harness.js';
import type { PatchWork, RunImageWork } from '../../src/run/image-work.js';
import type { RegistryComposition } from '../../src/run/registry-composition.js';
import { temporaryDir } from '../helpers/files.js';

type Answer = Result<UpgradedAhead | { refused: string }, { kind: 'build'; message: string }>;

/** An engine whose upgrades ahead wait until the test lets each go, recording the order they were asked in. */
function engineWithUpgrades() {
  const asked: string[] = [];
  const scratches = new Map<string, string>();
  const release = new Map<string, (answer: Answer) => void>();
  const engine: Engine = Object.assign(new FakeEngine(), {
    upgradeAhead: (request: UpgradeAheadRequest) => {
      asked.push(request.image);
      scratches.set(request.image, request.scratch);
      mkdirSync(join(request.scratch, 'ahead', 'upper'), { recursive: true });
      return new Promise<Answer>((resolve) => release.set(request.image, resolve));
    },
  });
  /** Until the queue has asked for the image: it asks for the next once the one before is done. */
  const askedFor = async (image: string) => {
    while (!release.has(image)) await new Promise((resolve) => setImmediate(resolve));
  };
  const answer = async (image: string, value: Answer | (() => Answer)) => {
    await askedFor(image);
    release.get(image)?.(typeof value === 'function' ? value() : value);
  };
  /** The upper folder made in the scratch folder the image was given (known once it is asked for). */
  const upper = (image: string) => () => ok({ upper: join(scratches.get(image) ?? '', 'ahead', 'upper'), opaque: [] });
  return { engine, asked, scratches, askedFor, answer, upper };
}

function logLines(events: EventBus): RunEvent[] {
  const seen: RunEvent[] = [];
  events.attach({ handle: (event) => seen.push(event) });
  return seen;
}

const candidate = (name: string) => ({ name, imageId: `${name}-earlier`, run: ['sh', '-c', 'true'] });

describe('own upgrades run ahead of the parents’ patches', () => {
  const root = temporaryDir();
  after(() => rmSync(root, { recursive: true, force: true }));
  const signal = new AbortController().signal;

  it('runs them one at a time, in order, and hands each to its image once', async () => {
    const { engine, asked, askedFor, answer, upper } = engineWithUpgrades();
    const ahead = new UpgradesAhead(engine, new EventBus(), root, [candidate('a'), candidate('b')], signal);
    ahead.start();
    await answer('a-earlier', upper('a-earlier'));
    const a = await ahead.take('a');
    assert.ok(a !== undefined && existsSync(a.upgraded.upper));
    assert.equal(await ahead.take('a'), undefined, 'taken once');
    await askedFor('b-earlier');
    assert.deepEqual(asked, ['a-earlier', 'b-earlier'], 'b is asked for once a is done');
    // b is under way: its image's step waits for it.
    const b = ahead.take('b');
    await answer('b-earlier', upper('b-earlier'));
    assert.ok((await b)?.upgraded.upper.endsWith(join('ahead', 'upper')));
    await ahead.stop();
  });

  it('leaves an upgrade not started yet to its image, which runs it itself', async () => {
    const { engine, asked, answer, upper } = engineWithUpgrades();
    const ahead = new UpgradesAhead(engine, new EventBus(), root, [candidate('a'), candidate('b')], signal);
    ahead.start();
    assert.equal(await ahead.take('b'), undefined);
    await answer('a-earlier', upper('a-earlier'));
    await ahead.stop();
    assert.deepEqual(asked, ['a-earlier'], 'b was never asked for');
  });

  it('says why one could not be made, removes its folder, and leaves it to its image', async () => {
    const { engine, scratches, answer } = engineWithUpgrades();
    const events = new EventBus();
    const seen = logLines(events);
    const ahead = new UpgradesAhead(engine, events, root, [candidate('a')], signal);
    ahead.start();
    await answer('a-earlier', ok({ refused: 'its /proc is not a folder' }));
    assert.equal(await ahead.take('a'), undefined);
    assert.ok(!existsSync(scratches.get('a-earlier') ?? ''), 'its scratch folder is gone');
    const lines = seen.flatMap((event) => (event.type === 'image' && event.reason === 'log' ? [event.line] : []));
    assert.ok(
      lines.some((line) => line.includes('not upgraded ahead (its /proc is not a folder)')),
      lines.join('\n'),
    );
  });

  it('stops starting more when the run ends, after the one under way', async () => {
    const { engine, asked, answer, upper } = engineWithUpgrades();
    const ahead = new UpgradesAhead(engine, new EventBus(), root, [candidate('a'), candidate('b')], signal);
    ahead.start();
    const stopped = ahead.stop();
    await answer('a-earlier', upper('a-earlier'));
    await stopped;
    assert.deepEqual(asked, ['a-earlier']);
  });

  it('asks nothing of an engine that cannot upgrade ahead', async () => {
    const ahead = new UpgradesAhead(new FakeEngine(), new EventBus(), root, [candidate('a')], signal);
    ahead.start();
    assert.equal(await ahead.take('a'), undefined);
    await ahead.stop();
  });

  it('takes the stacked images with own packages that moved, parents first, the longest chain first', () => {
    const images = [
      plannedImage('base', null),
      plannedImage('cron', 'base'),
      plannedImage('haproxy', 'base'),
      plannedImage('openstack-base', 'base'),
      plannedImage('nova-base', 'openstack-base'),
      plannedImage('nova-api', 'nova-base'),
      plannedImage('keystone', 'openstack-base'),
    ];
    const plan = { ...planOf(images), patching: { sources: [], setup: ['true'], restore: ['true'] } };
    const moved = [{ name: 'libfoo', architecture: 'amd64', from: '1', to: '2' }];
    const patch = (name: string, ownPackages: typeof moved): PatchWork => ({
      kind: 'patch',
      imageId: `${name}-earlier`,
      snapshotSet: 'debian=1',
      packages: moved,
      patchLayers: 0,
      user: '',
      labels: {},
      nativeArchitecture: 'amd64',
      onto: { parentBefore: 'before', parentReference: 'after', ownPackages },
    });
    const work = new Map<string, RunImageWork>([
      ['base', { ...patch('base', moved), onto: undefined }],
      ['cron', patch('cron', [])],
      ['haproxy', patch('haproxy', moved)],
      ['openstack-base', patch('openstack-base', moved)],
      ['nova-base', patch('nova-base', moved)],
      ['nova-api', patch('nova-api', moved)],
      ['keystone', patch('keystone', moved)],
    ]);
    const composition: RegistryComposition = {
      parents: new Set(['base', 'openstack-base', 'nova-base']),
      inStore: new Set(['nova-api']),
      composed: new Map(),
      pushed: () => undefined,
      access: { insecure: true },
      blobs: BLOB_UPLOAD,
      scratchRoot: root,
    };
    const names = UpgradesAhead.candidates(plan, work, composition).map((entry) => entry.name);
    // base is patched on itself, cron has no own package that moved, nova-api is stacked in the store.
    assert.deepEqual(names, ['openstack-base', 'haproxy', 'nova-base', 'keystone']);
  });
});
