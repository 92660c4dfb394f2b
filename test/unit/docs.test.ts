import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { createProgram } from '../../src/cli/program.js';
import { projectRoot } from '../helpers/files.js';

const docsDir = join(projectRoot, 'docs');
const pages = [
  join(projectRoot, 'README.md'),
  ...readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(docsDir, name)),
];

/** The prose of a page: code blocks (indented or fenced) and code spans hold no links. */
function prose(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      return !fenced && !line.startsWith('    ');
    })
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const anchorsOf = (file: string) =>
  new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => slug(line.replace(/^#+ /, ''))),
  );

/** Every command's full name, subcommands included: `images list`, `vault encrypt-string`... */
function commandNames(command: CommandUnknownOpts, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return sub.commands.length > 0 ? commandNames(sub, path) : [path.join(' ')];
  });
}

describe('README.md and docs/', () => {
  it('every relative link leads to a file that exists, and an anchor to a heading of it', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target = ''] of prose(readFileSync(page, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? page : resolve(dirname(page), path);
        const where = `${relative(projectRoot, page)}: ${target}`;
        if (!existsSync(file)) broken.push(`${where}: no such file`);
        else if (anchor !== undefined && !anchorsOf(file).has(anchor)) broken.push(`${where}: no such heading`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('names every command of the CLI in docs/, as `ci-builder <command>`', () => {
    const docs = pages.filter((page) => page.startsWith(docsDir)).map((page) => readFileSync(page, 'utf8'));
    const names = commandNames(createProgram(new AbortController().signal, () => undefined));
    assert.ok(names.includes('images list') && names.includes('kolla-build'), names.join(', '));
    const missing = names.filter(
      (name) => !docs.some((text) => new RegExp(`ci-builder ${name.replace(/-/g, '\\-')}(?![\\w-])`).test(text)),
    );
    assert.deepEqual(missing, []);
  });

  it('README starts with its two commands: building the library, then installing and running every test', () => {
    const code = readFileSync(join(projectRoot, 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('    '))
      .slice(0, 2)
      .map((line) => line.trim().replace(/ +#.*$/, ''));
    assert.deepEqual(code, ['./ci-builder build', 'bash scripts/install-deps.sh && npm test']);
  });
});
