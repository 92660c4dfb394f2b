import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildImages } from '../../src/app/build.js';
import { chooseImages, renderImages } from '../../src/app/images.js';
import { kollaBuild, type KollaBuildRequest, type KollaSwitches } from '../../src/app/kolla-build.js';
import { runPipelineCommand } from '../../src/app/pipeline.js';
import type { Workspace } from '../../src/app/workspace.js';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { loadConfig } from '../../src/config/load.js';
import { PlainReporter } from '../../src/report/plain.js';
import { UsageError } from '../../src/util/errors.js';
import { projectRoot, temporaryDir } from '../helpers/files.js';

/** The bundled configuration and image tree, as the commands open them. */
function bundledWorkspace(): Workspace {
  const loaded = loadConfig({ cwd: temporaryDir(), env: {} });
  return { loaded, catalog: discoverCatalog(loaded.imagesDirs) };
}

const refused = (pattern: RegExp) => (error: unknown) => error instanceof UsageError && pattern.test(error.message);
const never = () => {
  throw new Error('no run may start');
};
const quietProgress = () => new PlainReporter(process.stderr, 'quiet');

describe('the build command, in process', () => {
  const request = {
    regexes: ['^cron$'],
    sets: [],
    flags: {},
    shard: {},
    progress: quietProgress,
    signal: new AbortController().signal,
  };

  it('refuses a tag or run folder with several distros, a bad tag, an unknown distro, before any run', async () => {
    const workspace = bundledWorkspace();
    const distros = Object.keys(workspace.loaded.config.distros);
    await assert.rejects(
      buildImages({ ...request, workspace, distros: ['nope'] }, never),
      refused(/unknown distro "nope"/),
    );
    await assert.rejects(buildImages({ ...request, workspace, tag: 'a b' }, never), refused(/invalid --tag "a b"/));
    if (distros.length > 1) {
      await assert.rejects(
        buildImages({ ...request, workspace, distros, tag: 't' }, never),
        refused(/--tag and --run-dir name one run/),
      );
    }
    await assert.rejects(
      buildImages({ ...request, workspace, flags: { push: true }, runDir: join(temporaryDir(), 'run') }, never),
      refused(/--push needs a registry|push/),
    );
  });

  it('refuses --shard without --push, naming what it needs', async () => {
    const workspace = bundledWorkspace();
    const shard = { shard: { index: 1, count: 2 } };
    await assert.rejects(buildImages({ ...request, workspace, shard }, never), refused(/--shard needs --push/));
  });
});

describe('the pipeline command, in process', () => {
  it('refuses the osv scanner without a database before building anything', async () => {
    await assert.rejects(
      runPipelineCommand(
        {
          workspace: bundledWorkspace(),
          regexes: [],
          sets: [],
          artifacts: join(temporaryDir(), 'artifacts'),
          pushDirty: false,
          flags: {},
          shard: {},
          scan: { scanner: 'osv' },
          toolVersion: '0.0.0',
          progress: quietProgress,
          signal: new AbortController().signal,
        },
        never,
      ),
      refused(/the osv scanner needs a database/),
    );
  });
});

describe('the images commands, in process', () => {
  it('chooses images as kolla-build does: a regex brings its parents, parents first', () => {
    const selection = chooseImages({ workspace: bundledWorkspace(), regexes: ['^keystone$'], sets: [] });
    assert.deepEqual(selection.selected, ['base', 'openstack-base', 'keystone']);
  });

  it('renders the selected images into <out>/<image>/ and reports what it wrote', async () => {
    const out = join(temporaryDir(), 'out');
    const [rendered] = await renderImages({
      workspace: bundledWorkspace(),
      regexes: ['^cron$'],
      sets: [],
      out,
      tag: 't1',
    });
    assert.equal(rendered?.written, 2);
    assert.deepEqual(rendered.unwritten, []);
    assert.match(readFileSync(join(out, 'cron/Dockerfile'), 'utf8'), /^FROM \S+\/base:t1$/m);
    await assert.rejects(
      renderImages({ workspace: bundledWorkspace(), regexes: [], sets: [], out, tag: 'bad tag' }),
      refused(/invalid --tag/),
    );
  });
});

describe('kolla-build, in process', () => {
  const checkout = join(projectRoot, 'test/fixtures/kolla-checkout-render');
  const switches: KollaSwitches = {
    push: false,
    skipParents: false,
    skipExisting: false,
    templateOnly: false,
    listImages: false,
    listDependencies: false,
    debug: false,
    quiet: true,
    summary: true,
    cache: true,
    kolla: { useDumbInit: true, dockerHealthchecks: true, enableUnbuildable: false, keep: false, squash: false },
  };
  const request = (
    asked: Partial<KollaSwitches>,
    places: Partial<KollaBuildRequest['places']> = {},
  ): KollaBuildRequest => ({
    config: { env: { PBR_VERSION: '2.0.0' }, cwd: temporaryDir() },
    flags: {},
    places: { kollaDir: checkout, configFiles: [], dockerDirs: [], profiles: [], ...places },
    switches: { ...switches, ...asked },
    regexes: ['node'],
    progress: quietProgress,
    onWarning: () => undefined,
    signal: new AbortController().signal,
  });

  it('lists images and dependencies as kolla-build prints them', async () => {
    assert.deepEqual(await kollaBuild(request({ listImages: true })), {
      kind: 'listing',
      text: '1 : base\n2 : prom-base\n3 : prom-node\n',
    });
    const tree = await kollaBuild(request({ listDependencies: true }));
    assert.equal(tree.kind, 'listing');
    assert.deepEqual(JSON.parse(tree.text), {
      base: [{ 'prom-base': ['prom-node'] }],
    });
  });

  it('renders the whole tree for --template-only, in the tree layout, whatever the regexes', async () => {
    const workDir = join(temporaryDir(), 'work');
    const outcome = await kollaBuild(request({ templateOnly: true }, { workDir }));
    assert.deepEqual(outcome, { kind: 'template-only', dockerDir: join(workDir, 'docker'), unwritten: [] });
    assert.equal(readFileSync(join(workDir, 'docker/demo/Dockerfile'), 'utf8'), 'FROM demo/base:2.0.0\nUSER 50001');
  });

  it('refuses what it cannot honour before any work', async () => {
    await assert.rejects(
      kollaBuild(request({ kolla: { ...switches.kolla, keep: true } })),
      refused(/cannot honour: .*keep/),
    );
    await assert.rejects(
      kollaBuild(request({ kolla: { ...switches.kolla, squash: true } })),
      refused(/cannot honour: .*squash/),
    );
    await assert.rejects(
      kollaBuild(request({}, { workDir: join(temporaryDir(), 'w') })),
      refused(/--work-dir without --template-only/),
    );
    await assert.rejects(kollaBuild(request({}, { format: 'yaml' })), refused(/invalid --format "yaml"/));
  });
});
