import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CompiledTemplates, MemoryTreeLoader } from '../../src/render/memory-loader.js';
import { environmentOptions } from '../../src/render/renderer.js';
import { readTemplateFiles } from '../../src/render/template-files.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

describe('templates read beforehand', () => {
  it('reads every *.j2 of the trees, follows symlinks only to files in the tree, skips hidden folders', () => {
    const outside = writeTree(temporaryDir(), { 'secret.j2': 'not for templates' });
    const tree = writeTree(temporaryDir(), {
      'macros.j2': 'macros',
      'a/Dockerfile.j2': 'FROM x',
      'a/notes.txt': 'not a template',
      '.git/hooks/x.j2': 'hidden',
    });
    symlinkSync(join(tree, 'macros.j2'), join(tree, 'a/macros-link.j2'));
    symlinkSync(join(outside, 'secret.j2'), join(tree, 'a/escape.j2'));
    const files = readTemplateFiles([tree]);
    const expected = [join(tree, 'a/Dockerfile.j2'), join(tree, 'a/macros-link.j2'), join(tree, 'macros.j2')];
    assert.deepEqual([...files.keys()].sort(), expected);
    assert.equal(files.get(join(tree, 'a/macros-link.j2')), 'macros');
  });

  it('finds templates first root first and never outside a root', () => {
    const files = new Map([
      ['/trees/own/macros.j2', 'own'],
      ['/trees/base/macros.j2', 'base'],
      ['/trees/base/only-base.j2', 'base only'],
      ['/trees/elsewhere.j2', 'outside'],
    ]);
    const compiled = new CompiledTemplates(new Map(), environmentOptions);
    const loader = new MemoryTreeLoader(['/trees/own', '/trees/base'], files, {}, compiled);
    assert.equal(loader.getSource('macros.j2').path, '/trees/own/macros.j2');
    assert.equal(loader.getSource('only-base.j2').path, '/trees/base/only-base.j2');
    assert.throws(() => loader.getSource('../elsewhere.j2'), /template not found: \.\.\/elsewhere\.j2/);
  });
});
