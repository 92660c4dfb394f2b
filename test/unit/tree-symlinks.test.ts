import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { discoverCatalog } from '../../src/catalog/discover.js';
import { configSchema } from '../../src/config/schema.js';
import { makePlan } from '../../src/plan/make-plan.js';
import type { Plan } from '../../src/plan/plan.js';
import { writeBuildContext } from '../../src/render/context.js';
import { UsageError } from '../../src/util/errors.js';
import { temporaryDir, writeTree } from '../helpers/files.js';
import { debianTemplateVariables, treeRenderer } from '../helpers/renderer.js';

const SECRET = 'SECRET-MARKER-7f3a9c';
const root = 'FROM {{ base_image }}:{{ base_distro_tag }}\n';
const child = 'FROM {{ namespace }}/base:{{ tag }}\n';

/** A parent folder holding `tree/` (an image tree) and `outside/secret.txt` beside it. */
function workspace(files: Record<string, string>): { tree: string; outside: string } {
  const top = temporaryDir();
  writeTree(top, { 'outside/secret.txt': `${SECRET}\n`, 'outside/dir/secret.txt': `${SECRET}\n` });
  const tree = writeTree(join(top, 'tree'), { 'macros.j2': '', ...files });
  return { tree, outside: join(top, 'outside') };
}

function renderA(tree: string, options: { override?: string } = {}): string {
  const catalog = discoverCatalog([tree]);
  const image = catalog.images.get('a');
  assert.ok(image);
  return treeRenderer(catalog, options).render(image, debianTemplateVariables('a'));
}

/** Renders image `a`, expecting the refusal; returns its message after checking the secret is not in it. */
function refusedRender(tree: string, options: { override?: string } = {}): string {
  let message = '';
  assert.throws(
    () => {
      const out = renderA(tree, options);
      assert.fail(`rendered instead of refusing: ${out.includes(SECRET) ? 'THE SECRET LEAKED' : out}`);
    },
    (error: Error) => {
      message = error.message;
      return error instanceof UsageError;
    },
  );
  assert.ok(!message.includes(SECRET), message);
  assert.equal(message.split('\n').length, 1, message);
  return message;
}

describe('templates through symlinks', () => {
  for (const tag of ['include', 'import', 'extends']) {
    it(`refuses to ${tag} a symlink that leaves the tree, naming the template and the link`, () => {
      const body = tag === 'import' ? '{% import "a/leak.j2" as x %}' : `{% ${tag} "a/leak.j2" %}`;
      const { tree, outside } = workspace({ 'a/Dockerfile.j2': `FROM x\n${body}\n` });
      symlinkSync(join(outside, 'secret.txt'), join(tree, 'a/leak.j2'));
      const message = refusedRender(tree);
      assert.match(message, /^a: template error: .*a\/leak\.j2.*symlink.*leaves the image tree/);
    });
  }

  it('refuses /etc/shadow-style absolute links and links into a folder that only shares the prefix', () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': 'FROM x\n{% include "a/prefix.j2" %}\n' });
    // <top>/tree2 starts with the text "<top>/tree" but is not inside it.
    writeTree(`${tree}2`, { 'secret.txt': SECRET });
    symlinkSync('../../tree2/secret.txt', join(tree, 'a/prefix.j2'));
    assert.match(refusedRender(tree), /a\/prefix\.j2.*leaves the image tree/);
  });

  it('refuses a file reached through a folder symlink that leaves the tree', () => {
    // Discovery does not walk hidden folders, so only the loader stands between this link and the secret.
    const { tree, outside } = workspace({ 'a/Dockerfile.j2': 'FROM x\n{% include "a/.ext/secret.txt" %}\n' });
    symlinkSync(join(outside, 'dir'), join(tree, 'a/.ext'));
    assert.match(refusedRender(tree), /a\/\.ext\/secret\.txt: symlink a\/\.ext -> .*outside\/dir leaves the image/);
  });

  it('follows a symlink that stays inside the tree, and a tree root that is itself a symlink', () => {
    const { tree } = workspace({
      'a/Dockerfile.j2': 'FROM x\n{% include "a/snippet.j2" %}\n',
      'shared/snippet.j2': 'RUN shared {{ image_name }}',
    });
    symlinkSync('../shared/snippet.j2', join(tree, 'a/snippet.j2'));
    assert.equal(renderA(tree), 'FROM x\nRUN shared a');
    const linkedRoot = join(temporaryDir(), 'linked-tree');
    symlinkSync(tree, linkedRoot);
    assert.equal(renderA(linkedRoot), 'FROM x\nRUN shared a');
  });

  it('gives the template override no way around the check', () => {
    const { tree, outside } = workspace({ 'a/Dockerfile.j2': 'FROM x\n' });
    symlinkSync(join(outside, 'secret.txt'), join(tree, 'leak.j2'));
    const leaking = refusedRender(tree, { override: 'FROM x\n{% include "leak.j2" %}\n' });
    assert.match(leaking, /leak\.j2.*leaves the image tree/);
    // A name that exists on every object is not an in-memory template.
    const inherited = refusedRender(tree, { override: 'FROM x\n{% include "constructor" %}\n' });
    assert.match(inherited, /template not found: constructor/);
  });

  it('refuses a dangling link and a link looping back into its folder, by name', () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': 'FROM x\n{% include "gone.j2" %}\n' });
    symlinkSync('missing.j2', join(tree, 'gone.j2'));
    const dangling = /^a: template error: .*template gone\.j2: symlink gone\.j2 -> missing\.j2 points to nothing$/;
    assert.match(refusedRender(tree), dangling);
    // Discovery does not walk hidden folders: a looping link there is met only by the templates' reading.
    const looping = workspace({ 'a/Dockerfile.j2': 'FROM x\n{% include "a/.up/macros.j2" %}\n' });
    symlinkSync('..', join(looping.tree, 'a/.up'));
    assert.match(refusedRender(looping.tree), /template a\/\.up\/macros\.j2: symlink a\/\.up -> \.\. loops back/);
  });

  it('finds templates through a folder link that stays inside the tree', () => {
    const { tree } = workspace({
      'a/Dockerfile.j2': 'FROM x\n{% include "a/shared/snippet.j2" %}\n',
      'shared/snippet.j2': 'RUN shared',
    });
    symlinkSync('../shared', join(tree, 'a/shared'));
    assert.equal(renderA(tree), 'FROM x\nRUN shared');
  });

  it('gives the compiled template cache no way around the check', async () => {
    // At the tree root, outside any image folder: only the template loader meets the link.
    const { tree, outside } = workspace({
      'a/Dockerfile.j2': 'FROM x\n{% include "part.j2" %}\n',
      'same.j2': `${SECRET}\n`,
    });
    const cacheDir = temporaryDir();
    // The same text was compiled and cached from inside the tree first.
    symlinkSync('same.j2', join(tree, 'part.j2'));
    const first = await planOf(tree, cacheDir);
    assert.equal(first.images[0]?.dockerfile, `FROM x\n${SECRET}`);
    assert.notDeepEqual(readdirSync(join(cacheDir, 'templates')), [], 'the included text is kept compiled');
    writeFileSync(join(tree, 'same.j2'), 'RUN nothing secret\n');
    const relinked = join(tree, 'part.j2');
    unlinkSync(relinked);
    symlinkSync(join(outside, 'secret.txt'), relinked);
    const refused = await refusedPlan(tree, cacheDir);
    assert.match(refused, /^a: template error: .*template part\.j2: symlink part\.j2 -> .*leaves/);
  });
});

const config = configSchema.parse({
  release: 'zed',
  namespace: 'ns',
  images_dirs: ['images'],
  distros: { debian: { version: 'bookworm', package_type: 'deb', base_image: { image: 'debian', tag: 'bookworm' } } },
});

async function planOf(tree: string, cacheDir = temporaryDir(), templateOverrideFiles: string[] = []): Promise<Plan> {
  return makePlan({
    config,
    catalog: discoverCatalog([tree]),
    distro: 'debian',
    tag: 't',
    engine: 'buildah',
    selection: { regexes: null, skipParents: false },
    renderInputs: { templateOverrideFiles },
    cacheDir,
    fetchSources: false,
  });
}

function contextOf(plan: Plan, name: string): Map<string, { executable: boolean; content: string }> {
  const image = plan.images.find((planned) => planned.name === name);
  assert.ok(image, `${name} is planned`);
  return new Map(
    image.contextFiles.map((file) => [
      file.path,
      { executable: file.executable, content: 'content' in file ? file.content.toString() : '' },
    ]),
  );
}

async function refusedPlan(tree: string, cacheDir?: string, templateOverrideFiles?: string[]): Promise<string> {
  let message = '';
  await assert.rejects(planOf(tree, cacheDir, templateOverrideFiles), (error: Error) => {
    message = error.message;
    return error instanceof UsageError;
  });
  assert.ok(!message.includes(SECRET), message);
  assert.equal(message.split('\n').length, 1, message);
  return message;
}

describe('build context symlinks', () => {
  it('copies a file symlink inside the tree as the file it points to, with its content and mode', async () => {
    const { tree } = workspace({
      'base/Dockerfile.j2': root,
      'base/apt_preferences_rabbitmq.debian': 'Package: rabbitmq\n',
      'base/start.sh': '#!/bin/sh\n',
      'toolbox/Dockerfile.j2': root,
    });
    chmodSync(join(tree, 'base/start.sh'), 0o755);
    symlinkSync('../base/apt_preferences_rabbitmq.debian', join(tree, 'toolbox/apt_preferences_rabbitmq.debian'));
    symlinkSync(join(tree, 'base/start.sh'), join(tree, 'toolbox/start.sh'));
    const plan = await planOf(tree);
    const files = contextOf(plan, 'toolbox');
    const preferences = files.get('apt_preferences_rabbitmq.debian');
    assert.deepEqual(preferences, { executable: false, content: 'Package: rabbitmq\n' });
    assert.deepEqual(files.get('start.sh'), { executable: true, content: '#!/bin/sh\n' });

    const out = join(temporaryDir(), 'toolbox');
    const toolbox = plan.images.find((image) => image.name === 'toolbox');
    assert.ok(toolbox);
    await writeBuildContext(out, toolbox.dockerfile, toolbox.contextFiles);
    const written = lstatSync(join(out, 'start.sh'));
    assert.ok(written.isFile() && !written.isSymbolicLink(), 'the context holds a regular file, not a link');
    assert.equal(written.mode & 0o777, 0o755);
    assert.equal(readFileSync(join(out, 'apt_preferences_rabbitmq.debian'), 'utf8'), 'Package: rabbitmq\n');
  });

  it('copies a folder symlink inside the tree as the folder it points to', async () => {
    const { tree } = workspace({
      'a/Dockerfile.j2': root,
      'shared/conf/one.conf': '1\n',
      'shared/conf/sub/two.conf': '2\n',
    });
    symlinkSync('../shared/conf', join(tree, 'a/conf'));
    const files = contextOf(await planOf(tree), 'a');
    assert.deepEqual([...files.keys()].sort(), ['Dockerfile.j2', 'conf/one.conf', 'conf/sub/two.conf']);
    assert.equal(files.get('conf/sub/two.conf')?.content, '2\n');
  });

  it("changes the image's input digest when a link's target changes", async () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': root, 'shared/conf.txt': 'one\n' });
    symlinkSync('../shared/conf.txt', join(tree, 'a/conf.txt'));
    const before = (await planOf(tree)).images[0]?.inputDigest;
    writeFileSync(join(tree, 'shared/conf.txt'), 'two\n');
    const after = (await planOf(tree)).images[0]?.inputDigest;
    assert.ok(before !== undefined && after !== undefined);
    assert.notEqual(before, after);
  });

  it('refuses an absolute symlink out of the tree, naming the image, the link and its target', async () => {
    const { tree, outside } = workspace({ 'a/Dockerfile.j2': root });
    symlinkSync(join(outside, 'secret.txt'), join(tree, 'a/creds'));
    const message = await refusedPlan(tree);
    assert.match(message, /^a: build context: symlink creds -> .*outside\/secret\.txt leaves the image tree/);
  });

  it('refuses a ../ symlink out of the tree, also inside a subfolder, and a folder link out of it', async () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': root, 'a/sub/keep': '' });
    symlinkSync('../../../outside/secret.txt', join(tree, 'a/sub/creds'));
    const up = await refusedPlan(tree);
    assert.match(up, /^a: build context: symlink sub\/creds -> (\.\.\/){3}outside\/secret\.txt leaves the image tree/);
    // Discovery refuses a folder link out of the tree; one in a hidden folder is the context's to refuse.
    const second = workspace({ 'a/Dockerfile.j2': root });
    symlinkSync('../../outside/dir', join(second.tree, 'a/.dir'));
    const folder = await refusedPlan(second.tree);
    assert.match(folder, /^a: build context: symlink \.dir -> \.\.\/\.\.\/outside\/dir leaves the image tree/);
  });

  it('refuses a dangling symlink and a symlink loop', async () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': root });
    symlinkSync('missing.txt', join(tree, 'a/gone'));
    assert.match(await refusedPlan(tree), /^a: build context: symlink gone -> missing\.txt points to nothing/);
    const looping = workspace({ 'a/Dockerfile.j2': root, 'a/.sub/keep': '' });
    symlinkSync('..', join(looping.tree, 'a/.sub/up'));
    const loop = await refusedPlan(looping.tree);
    assert.match(loop, /^a: build context: symlink \.sub\/up -> \.\. loops back into a folder that contains it/);
  });
});

describe('image tree discovery and symlinks', () => {
  it('finds images in folder symlinks that stay inside the tree', () => {
    const { tree } = workspace({ 'base/Dockerfile.j2': root, 'extra/real/child/Dockerfile.j2': child });
    symlinkSync('extra/real', join(tree, 'linked'));
    // Reached twice (real folder and link): the same name twice is refused as any duplicate is.
    assert.throws(() => discoverCatalog([tree]), /duplicate image name "child" in extra\/real\/child and linked\//);
    const only = workspace({ 'base/Dockerfile.j2': root, '.hidden/child/Dockerfile.j2': child });
    symlinkSync('.hidden/child', join(only.tree, 'child'));
    assert.equal(discoverCatalog([only.tree]).images.get('child')?.parent, 'base');
  });

  it('refuses a folder symlink that leaves the tree, and never walks it', () => {
    const { tree, outside } = workspace({ 'base/Dockerfile.j2': root });
    writeTree(outside, { 'evil/Dockerfile.j2': root });
    symlinkSync(outside, join(tree, 'more'));
    assert.throws(() => discoverCatalog([tree]), /tree: symlink more -> .*outside leaves the image tree/);
  });

  it('refuses a symlink loop instead of walking it forever', () => {
    const { tree } = workspace({ 'base/Dockerfile.j2': root, 'a/b/keep': '' });
    symlinkSync('../..', join(tree, 'a/b/loop'));
    assert.throws(() => discoverCatalog([tree]), /symlink a\/b\/loop -> \.\.\/\.\. loops back into a folder/);
  });

  it('refuses a Dockerfile.j2 that is a symlink out of the tree', () => {
    const { tree, outside } = workspace({ 'base/Dockerfile.j2': root });
    writeFileSync(join(outside, 'Dockerfile.j2'), `FROM debian\nRUN echo ${SECRET}\n`);
    mkdirSync(join(tree, 'evil'));
    symlinkSync(join(outside, 'Dockerfile.j2'), join(tree, 'evil/Dockerfile.j2'));
    assert.throws(() => discoverCatalog([tree]), /symlink evil\/Dockerfile\.j2 -> .*outside\/Dockerfile\.j2 leaves/);
  });
});

describe('template override symlinks', () => {
  const refusedOverride = (tree: string, overrideFile: string) => refusedPlan(tree, undefined, [overrideFile]);

  it('refuses an override that is a symlink out of its folder, naming the link and its target', async () => {
    const { tree, outside } = workspace({ 'a/Dockerfile.j2': root, 'site/keep': '' });
    const override = join(tree, 'site/override.j2');
    symlinkSync(join(outside, 'secret.txt'), override);
    const message = await refusedOverride(tree, override);
    assert.match(
      message,
      /site\/override\.j2: symlink override\.j2 -> .*outside\/secret\.txt leaves its folder; refused$/,
    );
    // A relative link up and out is judged by where it leads, not by how it reads.
    const relative = join(tree, 'site/up.j2');
    symlinkSync('../../outside/secret.txt', relative);
    assert.match(
      await refusedOverride(tree, relative),
      /symlink up\.j2 -> (\.\.\/){2}outside\/secret\.txt leaves its folder/,
    );
  });

  it('refuses a dangling override link, and an override that is a FIFO, without blocking', async () => {
    const { tree } = workspace({ 'a/Dockerfile.j2': root, 'site/keep': '' });
    const dangling = join(tree, 'site/gone.j2');
    symlinkSync('missing.j2', dangling);
    assert.match(await refusedOverride(tree, dangling), /symlink gone\.j2 -> missing\.j2 points to nothing$/);
    const fifo = join(tree, 'site/fifo.j2');
    process.getBuiltinModule('node:child_process').execFileSync('mkfifo', [fifo]);
    assert.match(await refusedOverride(tree, fifo), /fifo\.j2: template override is a FIFO, not a regular file$/);
  });

  it('follows an override link that stays in its folder', async () => {
    const { tree } = workspace({
      'a/Dockerfile.j2': `${root}{% block a_footer %}{% endblock %}\n`,
      'site/real.j2': '{% extends parent_template %}{% block a_footer %}RUN echo site{% endblock %}',
    });
    const linked = join(tree, 'site/override.j2');
    symlinkSync('real.j2', linked);
    const plan = await planOf(tree, undefined, [linked]);
    assert.equal(plan.images[0]?.dockerfile, 'FROM debian:bookworm\nRUN echo site');
  });
});
