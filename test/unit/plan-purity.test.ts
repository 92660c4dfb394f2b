import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { configSchema } from '../../src/config/schema.js';
import { gatherPlanInputs, type GatherRequest } from '../../src/plan/gather.js';
import { makePlan } from '../../src/plan/make-plan.js';
import { planFromInputs } from '../../src/plan/plan.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const config = configSchema.parse({
  release: 'zed',
  registry: '127.0.0.1:5000',
  namespace: 'ns',
  images_dirs: ['images'],
  distros: {
    debian: { version: 'bookworm', package_type: 'deb', base_image: { image: 'debian', tag: 'bookworm' } },
  },
});

/** A tree that reads what a plan reads: macros, an override, patches, a source, plugin bundles and `env`. */
function sampleRequest(cache: string): { request: GatherRequest; disposable: string[] } {
  const tree = writeTree(temporaryDir(), {
    'macros.j2': '{% macro hello(name) %}RUN echo hello {{ name }}{% endmacro %}',
    'base/Dockerfile.j2': 'FROM {{ base_image }}:{{ base_distro_tag }}\nCOPY hello /hello\n',
    'base/hello': 'hi\n',
    'app/Dockerfile.j2':
      'FROM {{ namespace }}/base:{{ tag }}\n' +
      '{% import "macros.j2" as macros with context %}{{ macros.hello(image_name) }}\n' +
      'ADD app-archive /app\nADD plugins-archive /\nRUN echo {{ env.PLAN_PURITY_PROBE }}\n' +
      '{% block app_footer %}{% endblock %}\n',
  });
  const override = writeTree(temporaryDir(), {
    'override.j2': '{% extends parent_template %}\n{% block app_footer %}RUN echo overridden{% endblock %}\n',
  });
  const patches = writeTree(temporaryDir(), { 'app/series': '0001.patch\n', 'app/0001.patch': '--- a\n+++ b\n' });
  const source = writeTree(temporaryDir(), { 'app/setup.py': 'v1\n' });
  const request: GatherRequest = {
    config,
    catalog: discoverCatalog([tree]),
    distro: 'debian',
    tag: 'zed-debian-bookworm-20260101T000000',
    engine: 'buildah',
    selection: { regexes: null, skipParents: false },
    renderInputs: {
      templateOverrideFiles: [join(override, 'override.j2')],
      patchesPath: patches,
      sources: { app: { type: 'local', location: join(source, 'app'), enabled: true } },
    },
    cacheDir: cache,
    fetchSources: true,
  };
  return { request, disposable: [tree, override, patches, source] };
}

const nodeRequire = createRequire(import.meta.url);
type FunctionsOf = Record<string, (...args: unknown[]) => unknown>;

/**
 * Runs `work` with every function of fs, fs/promises and child_process, and fetch, made to
 * throw (ES module imports of them too), and the clock stopped at another time: work that
 * reads a file, starts a process, goes to the network or looks at the time fails or differs.
 */
function withoutOutsideWorld<T>(work: () => T): T {
  const forbidden = (what: string) => () => {
    throw new Error(`the plan touched ${what}`);
  };
  for (const name of ['node:fs', 'node:fs/promises', 'node:child_process']) {
    const module = nodeRequire(name) as FunctionsOf;
    for (const key of Object.keys(module)) {
      if (typeof module[key] !== 'function' || !/^[a-z]/.test(key)) continue;
      mock.method(module, key, forbidden(`${name} ${key}`));
    }
  }
  mock.method(globalThis as unknown as FunctionsOf, 'fetch', forbidden('the network'));
  mock.timers.enable({ apis: ['Date'], now: new Date('2031-05-05T05:05:05Z') });
  syncBuiltinESMExports();
  try {
    return work();
  } finally {
    mock.timers.reset();
    mock.restoreAll();
    syncBuiltinESMExports();
  }
}

describe('the plan step is pure', () => {
  it('plans the same with the trees, patches and sources gone, the environment changed, and no I/O', async () => {
    const cache = temporaryDir();
    const { request, disposable } = sampleRequest(cache);
    process.env.PLAN_PURITY_PROBE = 'gathered';
    const inputs = await gatherPlanInputs(request);
    const expected = planFromInputs(inputs).plan;
    const app = expected.images.find((image) => image.name === 'app');
    assert.match(app?.dockerfile ?? '', /RUN echo hello app\n/);
    assert.match(app?.dockerfile ?? '', /RUN echo gathered\n/);
    assert.match(app?.dockerfile ?? '', /RUN echo overridden/);
    const paths = app?.contextFiles.map((file) => file.path);
    const archives = ['app-archive', 'plugins-archive', 'additions-archive'];
    assert.deepEqual(paths, ['Dockerfile.j2', 'patches/series', 'patches/0001.patch', ...archives]);

    for (const dir of disposable) rmSync(dir, { recursive: true, force: true });
    const cacheBefore = readdirSync(cache, { recursive: true });
    Object.assign(process.env, {
      PLAN_PURITY_PROBE: 'changed',
      HOME: '/nonexistent/home',
      XDG_CACHE_HOME: '/nonexistent/xdg',
      CI_BUILDER_CACHE_DIR: '/nonexistent/cache',
    });
    const first = withoutOutsideWorld(() => planFromInputs(inputs));
    const second = withoutOutsideWorld(() => planFromInputs(inputs));
    assert.deepEqual(first.plan, expected);
    assert.deepEqual(second.plan, first.plan, 'equal inputs, equal plans');
    assert.deepEqual(readdirSync(cache, { recursive: true }), cacheBefore, 'the plan step writes no file');
  });

  it('takes compiled templates in, gives the ones it compiled out; makePlan keeps them for the next run', async () => {
    const cache = temporaryDir();
    const { request } = sampleRequest(cache);
    const cold = planFromInputs(await gatherPlanInputs(request));
    assert.equal(cold.compiledTemplates.size, 4, 'two Dockerfiles, macros.j2 and the override were compiled');
    await makePlan(request);
    assert.equal(readdirSync(join(cache, 'templates')).length, 4);
    const warmInputs = await gatherPlanInputs(request);
    assert.equal(warmInputs.templates.compiled.size, 4);
    const warm = planFromInputs(warmInputs);
    assert.equal(warm.compiledTemplates.size, 0, 'nothing compiled again');
    assert.deepEqual(warm.plan, cold.plan);
    const damaged = new Map([...warmInputs.templates.compiled].map(([key]) => [key, 'this is not javascript (']));
    const recompiled = planFromInputs({ ...warmInputs, templates: { ...warmInputs.templates, compiled: damaged } });
    assert.deepEqual(recompiled.plan, cold.plan, 'damaged compiled code is compiled again');
    assert.equal(recompiled.compiledTemplates.size, 4);
  });
});
