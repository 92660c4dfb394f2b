import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startFakePulp } from '../helpers/fake-pulp.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const credential = { username: 'reader', password: 'pulp-secret' };
const authorization = `Basic ${Buffer.from('reader:pulp-secret').toString('base64')}`;

describe('the stand-in Pulp content app', () => {
  it('serves a pool file whose name apt percent-encodes (+ and ~), as Pulp decodes the path', async () => {
    const repository = writeTree(temporaryDir(), {
      'pool/main/o/openssl/libssl3_3.0.17-1~deb12u2_amd64.deb': 'tilde',
      'pool/main/g/glibc/libc6_2.36-9+deb12u7_amd64.deb': 'plus',
    });
    const pulp = await startFakePulp({ ...credential, localContent: { 'debian/1/': repository } });
    try {
      const get = (path: string) =>
        fetch(`${pulp.origin}/pulp/content/debian/1/${path}`, { headers: { authorization } });
      const tilde = await get('pool/main/o/openssl/libssl3_3.0.17-1%7edeb12u2_amd64.deb');
      assert.deepEqual([tilde.status, await tilde.text()], [200, 'tilde']);
      const plus = await get('pool/main/g/glibc/libc6_2.36-9%2Bdeb12u7_amd64.deb');
      assert.deepEqual([plus.status, await plus.text()], [200, 'plus']);
      const unencoded = await get('pool/main/g/glibc/libc6_2.36-9+deb12u7_amd64.deb');
      assert.deepEqual([unencoded.status, await unencoded.text()], [200, 'plus']);
    } finally {
      await pulp.stop();
    }
  });

  it('answers 404, not a file outside the distribution, for an encoded climb out of it', async () => {
    const root = temporaryDir();
    writeTree(root, { 'outside.txt': 'private', 'repo/dists/bookworm/Release': 'Suite: bookworm\n' });
    const pulp = await startFakePulp({ ...credential, localContent: { 'debian/1/': join(root, 'repo') } });
    try {
      const climb = await fetch(`${pulp.origin}/pulp/content/debian/1/%2e%2e%2foutside.txt`, {
        headers: { authorization },
      });
      assert.equal(climb.status, 404);
      const malformed = await fetch(`${pulp.origin}/pulp/content/debian/1/dists/%zz`, { headers: { authorization } });
      assert.equal(malformed.status, 404);
      const release = await fetch(`${pulp.origin}/pulp/content/debian/1/dists/bookworm/Release`, {
        headers: { authorization },
      });
      assert.deepEqual([release.status, await release.text()], [200, 'Suite: bookworm\n']);
    } finally {
      await pulp.stop();
    }
  });
});
