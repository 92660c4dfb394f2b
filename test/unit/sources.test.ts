import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareImageSources, type PrepareSourcesRequest } from '../../src/sources/prepare.js';
import { pruneSourceStore } from '../../src/sources/prune.js';
import type { SourceDefinition } from '../../src/config/source-definition.js';
import { SourceError, type PreparedArchive } from '../../src/sources/types.js';
import { freePort, temporaryDir, writeTree } from '../helpers/index.js';

const C_LOCALE = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const local = (location: string, enabled = true): SourceDefinition => ({ type: 'local', location, enabled });

function prepare(
  image: string,
  sections: Record<string, SourceDefinition>,
  overrides: Partial<PrepareSourcesRequest> = {},
): Promise<PreparedArchive[]> {
  return prepareImageSources({
    image,
    sections,
    debianArch: 'amd64',
    cacheDir: temporaryDir(),
    withPluginArchives: false,
    timeoutMs: 10_000,
    ...overrides,
  });
}

function archive(prepared: readonly PreparedArchive[], path: string): PreparedArchive {
  const found = prepared.find((entry) => entry.path === path);
  assert.ok(found, `${path} among ${prepared.map((entry) => entry.path).join(', ')}`);
  return found;
}

interface Listed {
  name: string;
  mode: string;
  owner: string;
  time: string;
}

/** tar's own view of an archive: mode, numeric owner, time and name of every member, in order. */
function listTar(file: string): Listed[] {
  // stderr is kept from the test output: tar warns about the `../` member the unsafe-name test lists.
  const out = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', '--file', file], {
    env: C_LOCALE,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\S+) (\d+\/\d+)\s+\d+ (\S+ \S+) (.*)$/.exec(line);
      assert.ok(match, `unexpected listing line: ${line}`);
      return { mode: match[1] ?? '', owner: match[2] ?? '', time: match[3] ?? '', name: match[4] ?? '' };
    });
}

const names = (file: string) => listTar(file).map((member) => member.name);

function extract(file: string): string {
  const into = temporaryDir();
  execFileSync('tar', ['--extract', '--file', file, '--directory', into]);
  return into;
}

function tarOf(parent: string, top: string, target: string, extra: readonly string[] = []): string {
  execFileSync('tar', ['--create', '--file', target, ...extra, '--directory', parent, top]);
  return target;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<SourceError> {
  const error = await promise.then(
    () => assert.fail('expected a SourceError'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof SourceError, `expected a SourceError, got ${String(error)}`);
  assert.match(error.message, pattern);
  assert.doesNotMatch(error.message, /\n/);
  return error;
}

describe('local sources', () => {
  it('packs a folder under its own name, owned by 0 at time 0, and gives equal bytes for equal content', async () => {
    const root = temporaryDir();
    const folder = writeTree(join(root, 'keystone'), {
      'setup.py': 'print(1)\n',
      'keystone/__init__.py': '',
      'bin/run': '#!/bin/sh\n',
    });
    chmodSync(join(folder, 'bin/run'), 0o755);
    const sections = { 'keystone-base': local(folder) };

    const first = archive(await prepare('keystone-base', sections), 'keystone-base-archive');
    const listed = listTar(first.file);
    assert.deepEqual(
      listed.map((member) => member.name),
      [
        'keystone/',
        'keystone/bin/',
        'keystone/bin/run',
        'keystone/keystone/',
        'keystone/keystone/__init__.py',
        'keystone/setup.py',
      ],
    );
    for (const member of listed) {
      assert.equal(member.owner, '0/0');
      assert.equal(member.time, '1970-01-01 00:00:00');
    }
    assert.equal(listed.find((member) => member.name === 'keystone/bin/run')?.mode, '-rwxr-xr-x');
    assert.equal(first.identity, `sha256:${sha256(readFileSync(first.file))}`);

    // Touched files and another cache: still the same bytes, so the same identity.
    utimesSync(join(folder, 'setup.py'), new Date(), new Date(2001, 1, 1));
    const second = archive(await prepare('keystone-base', sections), 'keystone-base-archive');
    assert.equal(second.identity, first.identity);
    assert.deepEqual(readFileSync(second.file), readFileSync(first.file));
  });

  it('keeps finished archives by content under sources/archives and leaves no scratch files', async () => {
    const folder = writeTree(join(temporaryDir(), 'glance'), { README: 'glance\n' });
    const cacheDir = temporaryDir();
    const [prepared] = await prepare('glance-api', { 'glance-api': local(folder) }, { cacheDir });
    assert.ok(prepared);
    assert.equal(prepared.file, join(cacheDir, 'sources', 'archives', prepared.identity.replace('sha256:', '')));
    assert.deepEqual(readdirSync(join(cacheDir, 'sources', 'tmp')), []);
  });

  it('copies a file as is', async () => {
    const file = join(temporaryDir(), 'vendor.tar.gz');
    const bytes = randomBytes(100_000);
    writeFileSync(file, bytes);
    const prepared = archive(await prepare('horizon', { horizon: local(file) }), 'horizon-archive');
    assert.deepEqual(readFileSync(prepared.file), bytes);
    assert.equal(prepared.identity, `sha256:${sha256(bytes)}`);
  });

  it('names the section when the location does not exist', async () => {
    await rejectsWith(
      prepare('horizon', { horizon: local('/nonexistent/horizon') }),
      /^horizon: local source \/nonexistent\/horizon does not exist$/,
    );
  });
});

describe('url sources', () => {
  let server: Server;
  let origin: string;
  const body = randomBytes(3 * 1024 * 1024);
  const authorizations: (string | undefined)[] = [];
  const pluginDir = writeTree(temporaryDir(), { 'remote/setup.cfg': 'remote\n' });
  const pluginTarGz = readFileSync(tarOf(pluginDir, 'remote', join(pluginDir, 'remote.tar.gz'), ['--gzip']));

  before(async () => {
    server = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      if (request.url === '/nova.tar.gz')
        return response.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
      if (request.url === '/plugin.tar.gz') return response.writeHead(200).end(pluginTarGz);
      // Headers, then silence: the download must give up instead of waiting forever.
      if (request.url === '/stalls') return response.writeHead(200).write('a little');
      if (request.url === '/moved') return response.writeHead(302, { location: '/nova.tar.gz' }).end();
      response.writeHead(404).end('not here');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = (path: string, sha?: Record<string, string>): SourceDefinition => ({
    type: 'url',
    location: `${origin}${path}`,
    enabled: true,
    ...(sha ? { sha256: sha } : {}),
  });

  it('downloads the file as is when its sha256 for the architecture matches', async () => {
    const sections = { 'nova-base': url('/nova.tar.gz', { amd64: sha256(body).toUpperCase(), arm64: '00' }) };
    const prepared = archive(await prepare('nova-base', sections), 'nova-base-archive');
    assert.deepEqual(readFileSync(prepared.file), body);
    assert.equal(prepared.identity, `sha256:${sha256(body)}`);
  });

  it('follows redirects and sends the URL login as Basic authorization', async () => {
    authorizations.length = 0;
    const location = `http://reader:s3cret@${origin.slice('http://'.length)}/moved`;
    const prepared = archive(
      await prepare('nova-base', { 'nova-base': { type: 'url', location, enabled: true } }),
      'nova-base-archive',
    );
    assert.deepEqual(readFileSync(prepared.file), body);
    assert.equal(authorizations[0], `Basic ${Buffer.from('reader:s3cret').toString('base64')}`);
  });

  it('fails on a wrong sha256, naming both sums', async () => {
    const wrong = 'ab'.repeat(32);
    const cacheDir = temporaryDir();
    await rejectsWith(
      prepare('nova-base', { 'nova-base': url('/nova.tar.gz', { amd64: wrong }) }, { cacheDir }),
      new RegExp(`^nova-base: .*${sha256(body)}.*${wrong}`),
    );
    assert.deepEqual(readdirSync(join(cacheDir, 'sources', 'tmp')), []);
    assert.equal(existsSync(join(cacheDir, 'sources', 'archives')), false);
  });

  it('refuses a sha256 map without an entry for the architecture', async () => {
    await rejectsWith(
      prepare('nova-base', { 'nova-base': url('/nova.tar.gz', { arm64: sha256(body) }) }),
      /^nova-base: sha256 has no entry for the architecture amd64$/,
    );
  });

  it('fails on a 404 without printing the login in the URL', async () => {
    const location = `http://reader:s3cret@${origin.slice('http://'.length)}/missing`;
    const error = await rejectsWith(
      prepare('nova-base', { 'nova-base': { type: 'url', location, enabled: true } }),
      /^nova-base: GET .*\/missing answered 404/,
    );
    assert.doesNotMatch(error.message, /s3cret|reader/);
    assert.match(error.message, new RegExp(`${origin}/missing`));
  });

  it('gives up on a server that stops sending', async () => {
    await rejectsWith(
      prepare('nova-base', { 'nova-base': url('/stalls') }, { timeoutMs: 300 }),
      /^nova-base: http:\/\/127\.0\.0\.1:\d+\/stalls sent nothing for 0.3s$/,
    );
  });

  it('takes a compressed plugin tar from a url', async () => {
    const prepared = await prepare('nova-base', {
      'nova-base-plugin-remote': url('/plugin.tar.gz', { amd64: sha256(pluginTarGz) }),
    });
    assert.deepEqual(names(archive(prepared, 'plugins-archive').file), [
      'plugins/',
      'plugins/remote/',
      'plugins/remote/setup.cfg',
    ]);
  });

  it('fails when nothing listens, naming the section', async () => {
    const port = await freePort();
    await rejectsWith(
      prepare('nova-base', { 'nova-base': { type: 'url', location: `http://127.0.0.1:${port}/x`, enabled: true } }),
      /^nova-base: downloading http:\/\/127\.0\.0\.1:\d+\/x failed/,
    );
  });
});

/** git with an identity and no signing, whatever the host's configuration says. */
function git(cwd: string, ...args: string[]): string {
  const config = [
    '-c',
    'user.name=Test',
    '-c',
    'user.email=test@example.invalid',
    '-c',
    'commit.gpgsign=false',
    '-c',
    'tag.gpgsign=false',
  ];
  return execFileSync('git', [...config, ...args], { cwd, encoding: 'utf8', env: C_LOCALE }).trim();
}

function commit(repo: string, files: Record<string, string>, message: string): string {
  writeTree(repo, files);
  git(repo, 'add', '--all');
  git(repo, 'commit', '--quiet', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

describe('git sources', () => {
  const repo = temporaryDir();
  let tagged: string;
  let branched: string;

  before(() => {
    git(repo, 'init', '--quiet', '--initial-branch=main');
    tagged = commit(repo, { 'setup.cfg': '[metadata]\nname = keystone\n' }, 'first');
    git(repo, 'tag', '19.0.0');
    git(repo, 'checkout', '--quiet', '-b', 'stable/2025.1');
    branched = commit(repo, { 'setup.cfg': '[metadata]\nname = keystone\nversion = 2\n' }, 'on the branch');
    git(repo, 'checkout', '--quiet', 'main');
  });

  const source = (reference: string): SourceDefinition => ({ type: 'git', location: repo, reference, enabled: true });

  it('packs a checkout of a tag with its .git folder and without the origin remote', async () => {
    const prepared = archive(
      await prepare('keystone-base', { 'keystone-base': source('19.0.0') }),
      'keystone-base-archive',
    );
    assert.equal(prepared.identity, `git:${repo}@${tagged}`);
    const members = names(prepared.file);
    assert.ok(
      members.every((name) => name.startsWith('keystone-base-archive-19.0.0/')),
      members.join('\n'),
    );
    assert.ok(members.includes('keystone-base-archive-19.0.0/.git/HEAD'));
    assert.ok(members.includes('keystone-base-archive-19.0.0/setup.cfg'));

    const checkout = join(extract(prepared.file), 'keystone-base-archive-19.0.0');
    assert.equal(git(checkout, 'remote'), '');
    assert.equal(git(checkout, 'rev-parse', 'HEAD'), tagged);
    assert.doesNotMatch(readFileSync(join(checkout, '.git', 'config'), 'utf8'), new RegExp(repo));
  });

  it('checks out a branch with a slash, and later runs fetch into the cached clone', async () => {
    const cacheDir = temporaryDir();
    const sections = { 'keystone-base': source('stable/2025.1') };
    const first = archive(await prepare('keystone-base', sections, { cacheDir }), 'keystone-base-archive');
    assert.equal(first.identity, `git:${repo}@${branched}`);
    assert.ok(names(first.file).includes('keystone-base-archive-stable-2025.1/.git/HEAD'));

    const cached = join(cacheDir, 'sources', 'git', sha256(repo));
    assert.ok(existsSync(join(cached, 'HEAD')), 'a bare clone is kept in the cache');
    // A re-clone would replace the folder and lose this file.
    writeFileSync(join(cached, 'kept-by-the-test'), '');
    const cachedSince = statSync(cached).ino;

    git(repo, 'checkout', '--quiet', 'stable/2025.1');
    const newer = commit(repo, { NEWS: 'more\n' }, 'second on the branch');
    git(repo, 'checkout', '--quiet', 'main');

    const second = archive(await prepare('keystone-base', sections, { cacheDir }), 'keystone-base-archive');
    assert.equal(second.identity, `git:${repo}@${newer}`);
    assert.ok(existsSync(join(cached, 'kept-by-the-test')));
    assert.equal(statSync(cached).ino, cachedSince);
    const checkout = join(extract(second.file), 'keystone-base-archive-stable-2025.1');
    assert.equal(readFileSync(join(checkout, 'NEWS'), 'utf8'), 'more\n');
  });

  it('fails on a reference the repository does not have', async () => {
    await rejectsWith(
      prepare('keystone-base', { 'keystone-base': source('no-such-tag') }),
      /^keystone-base: reference no-such-tag not found in /,
    );
  });

  it('names git plugins by commit in the plugins-archive identity, which stays equal across runs', async () => {
    const sections = { 'keystone-base-plugin-tempest': source('19.0.0') };
    const [first, second] = [await prepare('keystone-base', sections), await prepare('keystone-base', sections)];
    const plugins = archive(first, 'plugins-archive');
    assert.match(plugins.identity, new RegExp(`^sha256:[0-9a-f]{64} git:${repo}@${tagged}$`));
    assert.equal(archive(second, 'plugins-archive').identity, plugins.identity);
    assert.ok(names(plugins.file).includes('plugins/keystone-base-plugin-tempest-archive-19.0.0/.git/HEAD'));
  });
});

describe('plugins and additions', () => {
  const root = temporaryDir();
  const alpha = writeTree(join(root, 'alpha'), { 'setup.cfg': 'alpha\n', 'alpha/__init__.py': '' });
  writeTree(join(root, 'beta-src'), { 'beta/setup.cfg': 'beta\n' });
  const betaTar = tarOf(join(root, 'beta-src'), 'beta', join(root, 'beta.tar'));

  it('extracts every plugin into plugins/ and packs them as plugins-archive', async () => {
    const sections = { 'nova-base-plugin-alpha': local(alpha), 'nova-base-plugin-beta': local(betaTar) };
    const prepared = await prepare('nova-base', sections);
    assert.deepEqual(
      prepared.map((entry) => entry.path),
      ['plugins-archive', 'additions-archive'],
    );
    const plugins = archive(prepared, 'plugins-archive');
    assert.deepEqual(names(plugins.file), [
      'plugins/',
      'plugins/alpha/',
      'plugins/alpha/alpha/',
      'plugins/alpha/alpha/__init__.py',
      'plugins/alpha/setup.cfg',
      'plugins/beta/',
      'plugins/beta/setup.cfg',
    ]);
    assert.ok(listTar(plugins.file).every((member) => member.owner === '0/0' && member.time === '1970-01-01 00:00:00'));
    assert.equal(plugins.identity, `sha256:${sha256(readFileSync(plugins.file))}`);
    assert.deepEqual(names(archive(prepared, 'additions-archive').file), ['additions/']);

    const again = archive(await prepare('nova-base', sections), 'plugins-archive');
    assert.equal(again.identity, plugins.identity);
  });

  it('packs additions the same way under additions/', async () => {
    const extra = writeTree(join(temporaryDir(), 'extra'), { 'policy.yaml': '{}\n' });
    const prepared = await prepare('nova-base', { 'nova-base-additions-extra': local(extra) });
    assert.deepEqual(names(archive(prepared, 'additions-archive').file), [
      'additions/',
      'additions/extra/',
      'additions/extra/policy.yaml',
    ]);
    assert.deepEqual(names(archive(prepared, 'plugins-archive').file), ['plugins/']);
  });

  it('refuses a plugin tar with a member that leaves the folder', async () => {
    const dir = temporaryDir();
    writeTree(dir, { evil: 'owned\n', 'inner/.keep': '' });
    const evil = tarOf(join(dir, 'inner'), '../evil', join(dir, 'evil.tar'), ['--absolute-names']);
    assert.deepEqual(names(evil), ['../evil']);
    const cacheDir = temporaryDir();
    await rejectsWith(
      prepare(
        'nova-base',
        { 'nova-base-plugin-alpha': local(alpha), 'nova-base-plugin-evil': local(evil) },
        { cacheDir },
      ),
      /^nova-base-plugin-evil: unsafe member name \.\.\/evil$/,
    );
    assert.deepEqual(readdirSync(join(cacheDir, 'sources', 'tmp')), []);
  });

  it('refuses a plugin that would write through a symlink another plugin left', async () => {
    const dir = temporaryDir();
    const outside = temporaryDir();
    mkdirSync(join(dir, 'one'));
    execFileSync('ln', ['-s', outside, join(dir, 'one', 'shared')]);
    writeTree(dir, { 'two/shared/owned': 'owned\n' });
    const sections = {
      'nova-base-plugin-1': local(tarOf(join(dir, 'one'), 'shared', join(dir, 'one.tar'))),
      'nova-base-plugin-2': local(tarOf(join(dir, 'two'), 'shared', join(dir, 'two.tar'))),
    };
    await rejectsWith(
      prepare('nova-base', sections),
      /^nova-base-plugin-2: member shared(\/owned)? would (be written through|replace) the symlink/,
    );
    assert.deepEqual(readdirSync(outside), []);
  });

  it('refuses a plugin that is not a tar', async () => {
    const file = join(temporaryDir(), 'notes.txt');
    writeFileSync(file, 'just some text\n');
    await rejectsWith(
      prepare('nova-base', { 'nova-base-plugin-notes': local(file) }),
      /^nova-base-plugin-notes: not a tar archive$/,
    );
  });

  it('gives empty plugins and additions archives when asked for them', async () => {
    const prepared = await prepare('nova-base', {}, { withPluginArchives: true });
    assert.deepEqual(names(archive(prepared, 'plugins-archive').file), ['plugins/']);
    assert.deepEqual(names(archive(prepared, 'additions-archive').file), ['additions/']);
  });
});

describe('section selection', () => {
  const folder = writeTree(join(temporaryDir(), 'thing'), { file: 'x\n' });

  it('produces nothing for disabled sections', async () => {
    const sections = {
      'nova-base': local(folder, false),
      'nova-base-plugin-a': local(folder, false),
      'nova-base-additions-b': local(folder, false),
    };
    assert.deepEqual(await prepare('nova-base', sections), []);
    const withBundles = await prepare('nova-base', sections, { withPluginArchives: true });
    assert.deepEqual(names(archive(withBundles, 'plugins-archive').file), ['plugins/']);
    assert.equal(withBundles.length, 2);
  });

  it('gives a plugin section to the image its whole prefix names', async () => {
    const sections = { 'nova-plugin-x': local(folder) };
    assert.deepEqual(await prepare('nova-base', sections), []);
    assert.deepEqual(names(archive(await prepare('nova', sections), 'plugins-archive').file), [
      'plugins/',
      'plugins/thing/',
      'plugins/thing/file',
    ]);
    assert.deepEqual(await prepare('nova', { 'nova-base-plugin-x': local(folder) }), []);
  });
});

describe('the source store', () => {
  it('drops archives no plan has written for a week, and stale scratch folders, keeping fresh ones', async () => {
    const cacheDir = temporaryDir();
    const archives = join(cacheDir, 'sources', 'archives');
    const scratch = join(cacheDir, 'sources', 'tmp', 'prepare-old');
    mkdirSync(archives, { recursive: true });
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(archives, 'old'), 'x');
    writeFileSync(join(archives, 'fresh'), 'y');
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000);
    utimesSync(join(archives, 'old'), eightDaysAgo, eightDaysAgo);
    utimesSync(scratch, eightDaysAgo, eightDaysAgo);
    await pruneSourceStore(cacheDir);
    assert.deepEqual(readdirSync(archives), ['fresh']);
    assert.ok(!existsSync(scratch));
  });
});
