import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  confOptionsOf,
  parseKollaBuildConf,
  readKollaBuildConf,
  readKollaConfigDir,
  type KollaConfOptions,
} from '../../src/kolla/build-conf.js';
import { parseOsloIni } from '../../src/kolla/oslo-ini.js';
import { readKollaCheckout } from '../../src/kolla/read-checkout.js';
import { ConfigError, UsageError } from '../../src/util/errors.js';
import { projectRoot, temporaryDir, writeTree } from '../helpers/files.js';

const file = '/etc/kolla/kolla-build.conf';
const assignments = (text: string, section = 'DEFAULT') =>
  (parseOsloIni(text, file).sections.get(section) ?? []).map(({ key, value }) => [key, value]);

describe('oslo.config ini rules', () => {
  it('takes key = value, key=value and key: value; the first of = and : separates', () => {
    assert.deepEqual(assignments('[DEFAULT]\na = 1\nb=2\nc: 3\nd = http://x:80/a=b\ne: x=y\n'), [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', 'http://x:80/a=b'],
      ['e', 'x=y'],
    ]);
  });

  it('strips one pair of matching quotes around a value', () => {
    assert.deepEqual(assignments('[DEFAULT]\na = "quoted"\nb = \'single\'\nc = "unbalanced\nd = ""\n'), [
      ['a', 'quoted'],
      ['b', 'single'],
      ['c', '"unbalanced'],
      ['d', ''],
    ]);
  });

  it('treats # and ; as comments only at the start of a line', () => {
    assert.deepEqual(assignments('# top\n[DEFAULT]\n; note\na = 1 # not a comment\n#b = 2\n'), [
      ['a', '1 # not a comment'],
    ]);
  });

  it('continues a value on indented lines, joined with newlines, until a blank line', () => {
    assert.deepEqual(assignments('[DEFAULT]\na = one\n  two\n\tthree\n\nb = 4\n'), [
      ['a', 'one\ntwo\nthree'],
      ['b', '4'],
    ]);
  });

  it('keeps DEFAULT as written and lower-cases every other section name', () => {
    const text = '[DEFAULT]\na = 1\n[Keystone-Base]\nb = 2\n[default]\nc = 3\n[keystone-base]\nd = 4\n';
    const parsed = parseOsloIni(text, file);
    assert.deepEqual([...parsed.sections.keys()], ['DEFAULT', 'keystone-base', 'default']);
    assert.equal(parsed.sections.get('keystone-base')?.length, 2);
  });

  it('reports each malformed line with the file and line number', () => {
    const cases: [string, RegExp][] = [
      ['a = 1\n', /line 1: "a" is outside any \[section\]/],
      ['[DEFAULT]\njust words\n', /line 2: "key = value" expected/],
      ['[DEFAULT]\n= 1\n', /line 2: a key is needed/],
      ['[DEFAULT\n', /line 1: a section header ends with "\]"/],
      ['[]\n', /line 1: a section needs a name/],
      ['  indented\n', /line 1: an indented line continues no value/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(
        () => parseOsloIni(text, file),
        (error: unknown) =>
          error instanceof ConfigError && error.message.startsWith(file) && expected.test(error.message),
        text,
      );
    }
  });
});

describe('parseKollaBuildConf', () => {
  let known: KollaConfOptions;
  before(async () => {
    known = confOptionsOf(
      await readKollaCheckout(join(projectRoot, 'test/fixtures/kolla-checkout-older'), {
        env: { PBR_VERSION: '1.0.0' },
      }),
    );
  });

  it("reads the file Kayobe writes: DEFAULT options typed by the release's option list", () => {
    const conf = parseKollaBuildConf(
      [
        '[DEFAULT]',
        'base=beta',
        'base_tag=oldname',
        'base_arch=aarch64',
        'tag=zed-1',
        'push = Yes',
        'threads=4',
        'retries= 0',
        'ratio = 1.5',
        'allowed_to_fail = a, b ,c,',
        'build_args = HTTP_PROXY:http://p:3128, X:1',
        'template_override=/etc/kolla/template-override.j2',
        '',
      ].join('\n'),
      file,
      known,
    );
    assert.deepEqual(conf.defaults, {
      base: 'beta',
      base_tag: 'oldname',
      base_arch: 'aarch64',
      tag: 'zed-1',
      push: true,
      threads: 4,
      retries: 0,
      ratio: 1.5,
      allowed_to_fail: ['a', 'b', 'c'],
      build_args: { HTTP_PROXY: 'http://p:3128', X: '1' },
      template_override: ['/etc/kolla/template-override.j2'],
    });
    assert.deepEqual(conf.unknown, []);
    assert.deepEqual(conf.files, [file]);
  });

  it('reads booleans in every spelling oslo accepts, case-insensitively', () => {
    const words = [
      ['true', true],
      ['YES', true],
      ['On', true],
      ['1', true],
      ['false', false],
      ['no', false],
      ['OFF', false],
      ['0', false],
    ] as const;
    for (const [word, value] of words) {
      assert.equal(parseKollaBuildConf(`[DEFAULT]\npush = ${word}\n`, file, known).defaults['push'], value, word);
    }
  });

  it('keeps the last of a repeated single option and every value of a multi option', () => {
    const conf = parseKollaBuildConf('[DEFAULT]\ntag = a\ntag = b\nprofile = x\nprofile = y\n', file, known);
    assert.equal(conf.defaults['tag'], 'b');
    assert.deepEqual(conf.defaults['profile'], ['x', 'y']);
  });

  it('lists options and sections the release does not know, without failing', () => {
    const text = '[DEFAULT]\nbase-tag = x\nsurprise = 1\n[nonsense]\nk = v\n[tool]\nflavour = x\n';
    const conf = parseKollaBuildConf(text, file, known);
    assert.deepEqual(conf.unknown, [
      { file, section: 'DEFAULT', key: 'base-tag' },
      { file, section: 'DEFAULT', key: 'surprise' },
      { file, section: 'nonsense', key: null },
      { file, section: 'tool', key: 'flavour' },
    ]);
  });

  it("reads source sections: the release's own, plugins and additions, sha256 per architecture", () => {
    const conf = parseKollaBuildConf(
      [
        '[demo-base]',
        'type = git',
        'location = https://git.example/demo.git',
        'reference = stable/x',
        '',
        '[tool]',
        'type = url',
        'location = https://dl.example/tool-2.tar.gz',
        'version = 2.0',
        'sha256 = amd64:aaa,arm64:bbb',
        '',
        '[demo-base-plugin-extra]',
        'type = local',
        'location = /src/extra',
        'enabled = false',
        '',
        '[demo-additions-thing]',
        'type = git',
        'location = https://git.example/thing.git',
        'reference = main',
        '',
      ].join('\n'),
      file,
      known,
    );
    assert.deepEqual(conf.sources, {
      'demo-base': { type: 'git', location: 'https://git.example/demo.git', reference: 'stable/x' },
      tool: {
        type: 'url',
        location: 'https://dl.example/tool-2.tar.gz',
        version: '2.0',
        sha256: { amd64: 'aaa', arm64: 'bbb' },
      },
      'demo-base-plugin-extra': { type: 'local', location: '/src/extra', enabled: false },
      'demo-additions-thing': { type: 'git', location: 'https://git.example/thing.git', reference: 'main' },
    });
  });

  it("reads user sections and [profiles], operators' own profiles included", () => {
    const conf = parseKollaBuildConf(
      '[demo-user]\nuid = 60000\ngid=60001\ngroup = g\n[new-user]\nuid = 1\n' +
        '[profiles]\nsmall = demo,tool\nmine = ^keystone, ^nova-\n',
      file,
      known,
    );
    assert.deepEqual(conf.users, { 'demo-user': { uid: 60000, gid: 60001, group: 'g' }, 'new-user': { uid: 1 } });
    assert.deepEqual(conf.profiles, { small: ['demo', 'tool'], mine: ['^keystone', '^nova-'] });
  });

  it('refuses a value of the wrong type with the file, section, key and line', () => {
    const cases: [string, RegExp][] = [
      [
        '[DEFAULT]\npush = maybe\n',
        /\[DEFAULT\] push \(line 2\): true\/false, yes\/no, on\/off or 1\/0 expected, found "maybe"/,
      ],
      ['[DEFAULT]\nthreads = four\n', /\[DEFAULT\] threads \(line 2\): an integer expected/],
      ['[DEFAULT]\nthreads = 0\n', /threads \(line 2\): an integer of at least 1 expected/],
      ['[DEFAULT]\nretries = 10\n', /retries \(line 2\): an integer of at most 9 expected/],
      ['[DEFAULT]\nbase = gamma\n', /\[DEFAULT\] base \(line 2\): one of alpha, beta expected, found "gamma"/],
      ['[DEFAULT]\nengine = buildah\n', /engine \(line 2\): one of docker, podman expected/],
      ['[tool]\ntype = svn\n', /\[tool\] type \(line 2\): one of local, git, url expected/],
      ['[tool]\nsha256 = aaa\n', /\[tool\] sha256 \(line 2\): "key:value" pairs/],
      ['[demo-user]\nuid = x\n', /\[demo-user\] uid \(line 2\): an integer expected/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(
        () => parseKollaBuildConf(text, file, known),
        (error: unknown) =>
          error instanceof ConfigError && error.message.startsWith(`${file}: `) && expected.test(error.message),
        text,
      );
    }
  });
});

describe('kolla-build.conf files and config dirs', () => {
  let known: KollaConfOptions;
  before(async () => {
    known = confOptionsOf(
      await readKollaCheckout(join(projectRoot, 'test/fixtures/kolla-checkout-older'), {
        env: { PBR_VERSION: '1.0.0' },
      }),
    );
  });

  it('reads every *.conf of a config dir in sorted order: later files win, multi values add up', async () => {
    const dir = writeTree(temporaryDir('kolla-conf-'), {
      'kolla-build.conf': '[DEFAULT]\ntag = from-kolla-build\nthreads = 2\nprofile = a\n[tool]\nversion = 1\n',
      'zz-local.conf': '[DEFAULT]\ntag = from-zz\nprofile = b\n',
      'aa-first.conf': '[DEFAULT]\ntag = from-aa\npush = true\n',
      'notes.txt': '[DEFAULT]\ntag = ignored\n',
      '.hidden.conf': '[DEFAULT]\ntag = ignored\n',
    });
    const conf = await readKollaConfigDir(dir, known);
    assert.deepEqual(
      conf.files.map((path) => path.slice(dir.length + 1)),
      ['aa-first.conf', 'kolla-build.conf', 'zz-local.conf'],
    );
    assert.equal(conf.defaults['tag'], 'from-zz');
    assert.equal(conf.defaults['push'], true);
    assert.equal(conf.defaults['threads'], 2);
    assert.deepEqual(conf.defaults['profile'], ['a', 'b']);
    assert.deepEqual(conf.sources['tool'], { version: '1' });
  });

  it('names the file of an error inside a config dir', async () => {
    const dir = writeTree(temporaryDir('kolla-conf-'), { 'kolla-build.conf': '[DEFAULT]\nthreads = lots\n' });
    await assert.rejects(
      readKollaConfigDir(dir, known),
      (error: unknown) => error instanceof ConfigError && error.message.startsWith(join(dir, 'kolla-build.conf')),
    );
  });

  it('says when a file or dir cannot be read', async () => {
    await assert.rejects(
      readKollaBuildConf('/nonexistent/kolla-build.conf', known),
      (error: unknown) =>
        error instanceof UsageError &&
        /\/nonexistent\/kolla-build\.conf: cannot be read \(ENOENT\)/.test(error.message),
    );
    await assert.rejects(
      readKollaConfigDir('/nonexistent-dir', known),
      /nonexistent-dir: cannot be read as a config dir/,
    );
  });
});
