import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { packageStepBlocks } from '../../bench/respin/kolla-peer.js';
import type { RepositoryConfig } from '../../src/config/schema.js';
import { injectRepositories, repositorySnippets } from '../../src/repos/inject.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const repositories: RepositoryConfig[] = [
  { name: 'debian', base_path: 'debian/', version: '2', suites: ['bookworm'], components: ['main'], trusted: true },
];
const snippetsAt = (origin: string) =>
  repositorySnippets({ packageType: 'deb', distro: 'debian', repositories, access: { kind: 'proxy', origin } });

/** ci-builder's Dockerfile of an image: rendered, then its package steps put in through the package cache. */
function ciBuilderDockerfile(rendered: string, inheritedUser: string): string {
  return injectRepositories(rendered, snippetsAt('http://127.0.0.1:41001'), inheritedUser);
}

describe("the respin bench's kolla-build blocks, from ci-builder's Dockerfiles", () => {
  const dir = temporaryDir('bench-kolla-peer-');
  const files = new Map([
    ['memcached', join(dir, 'memcached/Dockerfile')],
    ['nova-api', join(dir, 'nova-api/Dockerfile')],
  ]);
  writeTree(dir, {
    'memcached/Dockerfile': ciBuilderDockerfile(
      'FROM ns/base:t\nRUN apt-get install -y memcached\nUSER memcached\n',
      'root',
    ),
    // A child of an image that ends as a non-root user: its setup runs as root, then back to that user.
    'nova-api/Dockerfile': ciBuilderDockerfile('FROM ns/nova-base:t\nUSER root\nRUN true\nUSER nova\n', 'nova'),
  });
  const blocks = packageStepBlocks(files, 'http://127.0.0.1:52002');
  const proxySnippets = snippetsAt('http://127.0.0.1:52002');

  it("gives each image a header with the setup step and a footer with the restore step, at the proxy's origin", () => {
    const memcached = [
      `{% block memcached_header %}\n${proxySnippets.setup}\n{% endblock %}\n`,
      `{% block memcached_footer %}\nUSER root\n${proxySnippets.restore}\nUSER memcached\n{% endblock %}\n`,
    ].join('');
    assert.ok(blocks.includes(memcached), blocks);
    assert.ok(!blocks.includes('41001'), "the package cache's origin is gone, the leak guard's needle included");
  });

  it('keeps the USER root … USER <user> around a step of an image that is not root there, block names in _', () => {
    assert.ok(
      blocks.includes(`{% block nova_api_header %}\nUSER root\n${proxySnippets.setup}\nUSER nova\n{% endblock %}\n`),
      blocks,
    );
    assert.ok(blocks.includes(`{% block nova_api_footer %}\nUSER root\n${proxySnippets.restore}\nUSER nova\n`));
  });

  it('refuses a Dockerfile without its two package steps, naming it', () => {
    writeTree(dir, { 'plain/Dockerfile': 'FROM ns/base:t\nRUN true\n' });
    assert.throws(
      () => packageStepBlocks(new Map([['plain', join(dir, 'plain/Dockerfile')]]), 'http://127.0.0.1:1'),
      /plain\/Dockerfile: expected a setup and a restore step, found 0 package steps/,
    );
  });
});
