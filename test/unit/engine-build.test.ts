import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BuildRequest, EngineResult, ImageInfo, MountedImage, RunResult } from '../../src/engine/types.js';
import type { ImagePackages } from '../../src/respin/image-packages.js';
import { PackageRecorder } from '../../src/respin/package-recorder.js';
import { buildInEngine } from '../../src/run/engine-build.js';
import { VERSION_LABEL, VERSION_PACKAGE_LABEL } from '../../src/run/version-label.js';
import { ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';
import { temporaryDir } from '../helpers/files.js';
import { stepContext } from '../helpers/run-harness.js';

const STATUS = ['dpkg 1.21.22', 'cron 3.0pl1-162']
  .map((entry) => entry.split(' '))
  .map(([name, version]) =>
    [`Package: ${name}`, 'Status: install ok installed', 'Architecture: amd64', `Version: ${version}`, ''].join('\n'),
  )
  .join('\n');

/**
 * An engine that mounts its images on a root holding dpkg's status (as buildah's mount gives it), counts its
 * mounts and the containers it runs, and reads the label build's Dockerfile as buildah would.
 */
class MountingEngine extends FakeEngine {
  readonly root = temporaryDir('ci-builder-root-');
  mounts = 0;
  released = 0;
  runs = 0;

  constructor() {
    super();
    mkdirSync(join(this.root, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(this.root, 'var/lib/dpkg/status'), STATUS);
  }

  /** The Dockerfile's `LABEL key="value"` lines are the image's labels too, as an engine reads them. */
  override build(request: BuildRequest): EngineResult<ImageInfo> {
    const dockerfile = readFileSync(join(request.contextDir, 'Dockerfile'), 'utf8');
    const labels: Record<string, string> = { ...request.labels };
    for (const [, key, value] of dockerfile.matchAll(/^LABEL ([\w.-]+)="([^"]*)"$/gm)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    return super.build({ ...request, labels });
  }

  mountImage(): EngineResult<MountedImage> {
    this.mounts++;
    return Promise.resolve(ok({ root: this.root, release: () => Promise.resolve(void this.released++) }));
  }

  override run(): EngineResult<RunResult> {
    this.runs++;
    return Promise.resolve(ok({ exitCode: 0, output: '9.9-asked-in-a-container' }));
  }
}

const cronBuild = {
  name: 'cron',
  reference: 'registry.test/ns/cron:t1',
  dockerfile: 'FROM registry.test/ns/base:t1\nRUN apt-get install -y cron\n',
  contextFiles: [],
  emptyDirs: [],
  labels: { [VERSION_PACKAGE_LABEL]: 'cron' },
  noCache: false,
};

describe("a build's own steps after the engine's", () => {
  it('reads the version and the packages through one mount: no container run, the packages kept by image id', async () => {
    const engine = new MountingEngine();
    const cacheDir = temporaryDir('ci-builder-respin-cache-');
    const failures: string[] = [];
    const recorder = new PackageRecorder(engine, cacheDir, (message) => failures.push(message));
    const built = await buildInEngine(stepContext(engine, recorder), cronBuild, new AbortController().signal);
    assert.ok(built.ok);
    await recorder.settle();
    assert.deepEqual([engine.mounts, engine.released, engine.runs], [1, 1, 0], 'one mount, released, no run');
    const image = [...engine.images.values()].find((info) => info.id === built.value.id);
    assert.equal(image?.labels[VERSION_LABEL], '3.0pl1-162', 'the version dpkg lists');
    const keptFile = join(cacheDir, `${built.value.id.replace(/^sha256:/, '')}.json`);
    const kept = JSON.parse(readFileSync(keptFile, 'utf8')) as ImagePackages;
    assert.deepEqual(
      kept.installed.map((entry) => `${entry.name}=${entry.version}`),
      ['dpkg=1.21.22', 'cron=3.0pl1-162'],
      'kept under the labelled image, the one the run tags',
    );
    assert.deepEqual(failures, []);
    assert.deepEqual(Object.keys(built.value.steps).sort(), ['context', 'engine', 'version_label']);
  });

  it('asks dpkg in a container where the mounted status does not list the package', async () => {
    const engine = new MountingEngine();
    const build = { ...cronBuild, labels: { [VERSION_PACKAGE_LABEL]: 'anacron' } };
    const built = await buildInEngine(stepContext(engine), build, new AbortController().signal);
    assert.ok(built.ok);
    assert.deepEqual([engine.mounts, engine.runs], [1, 1]);
    const image = [...engine.images.values()].find((info) => info.id === built.value.id);
    assert.equal(image?.labels[VERSION_LABEL], '9.9-asked-in-a-container');
  });

  it('mounts nothing where there is no label to read and no packages to keep', async () => {
    const engine = new MountingEngine();
    const built = await buildInEngine(stepContext(engine), { ...cronBuild, labels: {} }, new AbortController().signal);
    assert.ok(built.ok);
    assert.deepEqual([engine.mounts, engine.runs], [0, 0]);
  });
});
