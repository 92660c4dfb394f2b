import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

const fix = join(projectRoot, 'images/horizon/pyscss-whole-patterns.py');

/**
 * A stand-in for pyScss 1.4's scss/grammar/expression.py: its scanner's lazy pattern set-up as
 * written there, and a scan that, like pyScss's, tries the patterns in order.
 */
const STAND_IN = `import re


class SassExpressionScanner(object):
    patterns = None
    _patterns = [('SPACE', '[ ]+'), ('NUM', '[0-9]+'), ('BAREWORD', '[-a-zA-Z]+')]

    def __init__(self, input=None):
        if hasattr(self, 'setup_patterns'):
            self.setup_patterns(self._patterns)
        elif self.patterns is None:
            self.__class__.patterns = []
            for t, p in self._patterns:
                self.patterns.append((t, re.compile(p)))
        self.input = input

    def first_token(self):
        for tok, regex in self.patterns:
            if regex.match(self.input):
                return tok
        raise SyntaxError('Found %r but expected one of BAREWORD, NUM' % self.input[:10])
`;

/**
 * Two threads, as compress's pool runs them: the first is held while it compiles the patterns, the
 * second creates its scanner and scans meanwhile. Prints what the second one got.
 */
const RACE = `import re, threading
import scss.grammar.expression as expression

held, second_done = threading.Event(), threading.Event()

class HeldRe:
    def __getattr__(self, name):
        return getattr(re, name)

    def compile(self, pattern):
        if threading.current_thread().name == 'first' and not held.is_set() and pattern != '[ ]+':
            held.set()
            second_done.wait(10)
        return re.compile(pattern)

expression.re = HeldRe()
outcome = []

def second():
    held.wait(10)
    try:
        outcome.append(expression.SassExpressionScanner('inline-block').first_token())
    except SyntaxError as error:
        outcome.append('error: %s' % error)
    second_done.set()

threads = [threading.Thread(target=expression.SassExpressionScanner, name='first'), threading.Thread(target=second)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(outcome[0])
`;

function standIn(source = STAND_IN): string {
  return writeTree(temporaryDir('ci-builder-pyscss-'), {
    'scss/__init__.py': '',
    'scss/grammar/__init__.py': '',
    'scss/grammar/expression.py': source,
  });
}

const python = (dir: string, args: string[]) =>
  spawnSync('python3', args, { cwd: dir, env: { PATH: process.env.PATH, PYTHONPATH: dir }, encoding: 'utf8' });

describe("horizon's SCSS compile, which openstack-dashboard's post-install runs in four threads", () => {
  it('installs pyScss and fixes it before openstack-dashboard, whose post-install compiles with it', async () => {
    const out = temporaryDir();
    const result = await runCli(['images', 'render', '^horizon$', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const dockerfile = readFileSync(join(out, 'horizon/Dockerfile'), 'utf8');
    const at = (text: string) => dockerfile.indexOf(text);
    assert.ok(at('install -y --no-install-recommends python3-pyscss') > 0, dockerfile);
    assert.ok(at('RUN python3 /usr/local/lib/ci-builder/pyscss-whole-patterns.py') > at('python3-pyscss'));
    assert.ok(at('openstack-dashboard apache2') > at('pyscss-whole-patterns.py\n'), 'the dashboard comes after');
    assert.equal(readFileSync(join(out, 'horizon/pyscss-whole-patterns.py'), 'utf8'), readFileSync(fix, 'utf8'));
  });

  it("the race as pyScss has it: a scanner made while another thread fills the list fails on 'inline-block'", () => {
    const racy = python(standIn(), ['-c', RACE]);
    assert.equal(racy.stdout, "error: Found 'inline-blo' but expected one of BAREWORD, NUM\n", racy.stderr);
  });

  it('after the fix a scanner made meanwhile gets every pattern; code it does not know stops the build', () => {
    const dir = standIn();
    const fixed = python(dir, [fix]);
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /expression\.py: scanner patterns are now assigned whole\n$/);
    assert.equal(python(dir, ['-c', RACE]).stdout, 'BAREWORD\n');

    const again = python(dir, [fix]);
    assert.equal(again.status, 1, 'already fixed, or another pyScss: not the code it rewrites');
    assert.match(again.stderr, /expression\.py: the lazy pattern set-up this fix rewrites is not there; review/);
  });
});
