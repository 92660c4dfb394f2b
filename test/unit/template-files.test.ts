import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import nunjucks from 'nunjucks';
import { CompiledTemplates, MemoryTreeLoader, type TemplateFiles } from '../../src/render/memory-loader.js';
import { environmentOptions } from '../../src/render/renderer.js';
import { readTemplateFiles } from '../../src/render/template-files.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

function memoryLoader(templates: TemplateFiles, virtual: Record<string, string> = {}): MemoryTreeLoader {
  const compiled = new CompiledTemplates(new Map(), environmentOptions);
  return new MemoryTreeLoader(['/trees/own', '/trees/base'], templates, virtual, compiled);
}

describe('templates read beforehand', () => {
  it('reads every *.j2 and small file of the trees, follows symlinks only to files in the tree, skips hidden folders', () => {
    const outside = writeTree(temporaryDir(), { 'secret.j2': 'not for templates' });
    const tree = writeTree(temporaryDir(), {
      'macros.j2': 'macros',
      'a/Dockerfile.j2': 'FROM x',
      'a/notes.txt': 'not a template',
      '.git/hooks/x.j2': 'hidden',
    });
    symlinkSync(join(tree, 'macros.j2'), join(tree, 'a/macros-link.j2'));
    symlinkSync(join(outside, 'secret.j2'), join(tree, 'a/escape.j2'));
    const { texts, refusedLinks } = readTemplateFiles([tree]);
    // Small files are served too: templates import them by names they build (`{% from name import x %}`).
    const expected = [
      join(tree, 'a/Dockerfile.j2'),
      join(tree, 'a/macros-link.j2'),
      join(tree, 'a/notes.txt'),
      join(tree, 'macros.j2'),
    ];
    assert.deepEqual([...texts.keys()].sort(), expected);
    assert.equal(texts.get(join(tree, 'a/macros-link.j2')), 'macros');
    const refusal = `symlink a/escape.j2 -> ${join(outside, 'secret.j2')} leaves the image tree; refused`;
    assert.deepEqual([...refusedLinks], [[join(tree, 'a/escape.j2'), refusal]]);
  });

  it('keeps links out of the tree, dangling or looping with the line that refuses them, never their targets', () => {
    const top = writeTree(temporaryDir(), {
      'tree/macros.j2': '',
      'tree/sub/keep.j2': '',
      'tree2/secret.j2': 'not for templates',
    });
    const tree = join(top, 'tree');
    // tree2 starts with the text of tree's path without being inside it.
    symlinkSync('../tree2/secret.j2', join(tree, 'prefix.j2'));
    symlinkSync('missing.j2', join(tree, 'gone.j2'));
    symlinkSync('..', join(tree, 'sub/.up'));
    symlinkSync('../tree2', join(tree, 'notes'));
    const { texts, refusedLinks } = readTemplateFiles([tree]);
    assert.deepEqual([...texts.keys()].sort(), [join(tree, 'macros.j2'), join(tree, 'sub/keep.j2')]);
    assert.deepEqual(Object.fromEntries(refusedLinks), {
      [join(tree, 'prefix.j2')]: 'symlink prefix.j2 -> ../tree2/secret.j2 leaves the image tree; refused',
      [join(tree, 'gone.j2')]: 'symlink gone.j2 -> missing.j2 points to nothing',
      [join(tree, 'sub/.up')]: 'symlink sub/.up -> .. loops back into a folder that contains it',
      [join(tree, 'notes')]: 'symlink notes -> ../tree2 leaves the image tree; refused',
    });
  });

  it('finds templates first root first and never outside a root', () => {
    const texts = new Map([
      ['/trees/own/macros.j2', 'own'],
      ['/trees/base/macros.j2', 'base'],
      ['/trees/base/only-base.j2', 'base only'],
      ['/trees/own2/only-base.j2', 'beside own, not in it'],
      ['/trees/elsewhere.j2', 'outside'],
    ]);
    const loader = memoryLoader({ texts, refusedLinks: new Map() });
    assert.equal(loader.getSource('macros.j2').path, '/trees/own/macros.j2');
    assert.equal(loader.getSource('only-base.j2').path, '/trees/base/only-base.j2');
    assert.throws(() => loader.getSource('../elsewhere.j2'), /template not found: \.\.\/elsewhere\.j2/);
    assert.throws(() => loader.getSource('../own2/only-base.j2'), /template not found/);
  });

  it('refuses a name through a refused link with its line, in the first root that has one', () => {
    const refusedLinks = new Map([
      ['/trees/own/leak.j2', 'symlink leak.j2 -> /etc/shadow leaves the image tree; refused'],
      ['/trees/own/ext', 'symlink ext -> /home leaves the image tree; refused'],
    ]);
    // Text under a refused path can only be there by mistake: the refusal wins.
    const texts = new Map([
      ['/trees/base/leak.j2', 'base'],
      ['/trees/own/ext/x.j2', 'never read'],
    ]);
    const loader = memoryLoader({ texts, refusedLinks });
    const leak = /template leak\.j2: symlink leak\.j2 -> \/etc\/shadow leaves the image tree; refused$/;
    assert.throws(() => loader.getSource('leak.j2'), leak);
    assert.throws(() => loader.getSource('ext/x.j2'), /template ext\/x\.j2: symlink ext -> \/home leaves/);
  });

  it('matches no inherited name, neither as an in-memory template nor in the loaded templates', () => {
    const texts = new Map([['/trees/own/a.j2', 'A']]);
    const loader = memoryLoader({ texts, refusedLinks: new Map() }, { 'override.j2': 'O' });
    assert.equal(loader.getSource('override.j2').path, 'override.j2');
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.throws(() => loader.getSource(name), new RegExp(`template not found: ${name}`));
    }
    const environment = new nunjucks.Environment(loader, { ...environmentOptions });
    assert.throws(() => environment.render('constructor', {}), /template not found: constructor/);
    assert.equal(environment.render('a.j2', {}), 'A');
  });
});
