/**
 * purls against the purl specification's own test vectors for the types the scanner writes.
 *
 * test/fixtures/purl-spec/{deb,rpm,pypi,oci}-test.json are copies, unchanged, of tests/types/*-test.json
 * of package-url/purl-spec at commit 16f3d0e39343d47d1ac3d559b7e110f25eac1513, used here as test data
 * under that project's MIT licence (its text beside them, test/fixtures/purl-spec/LICENSE).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PackageURL } from 'packageurl-js';
import { buildPurl, imagePurl, purlOf } from '../../src/scan/purl.js';
import type { InstalledPackage } from '../../src/scan/types.js';
import { projectRoot } from '../helpers/files.js';

interface Components {
  type: string;
  namespace: string | null;
  name: string;
  version: string | null;
  qualifiers: Record<string, string> | null;
  subpath: string | null;
}
interface Vector {
  description: string;
  test_group: string;
  test_type: 'build' | 'parse' | 'validate';
  input: string | Components;
  expected_output?: string | Components | null;
  expected_failure?: boolean;
}

const vectors = (type: string): Vector[] =>
  (JSON.parse(readFileSync(`${projectRoot}/test/fixtures/purl-spec/${type}-test.json`, 'utf8')) as { tests: Vector[] })
    .tests;

/** A purl as the scanner writes one from its parts, through the function the scanner uses. */
const built = (parts: Components) =>
  buildPurl({
    type: parts.type,
    namespace: parts.namespace ?? undefined,
    name: parts.name,
    version: parts.version ?? undefined,
    qualifiers: parts.qualifiers ?? {},
  });

describe('purls as the purl specification writes them', () => {
  for (const type of ['deb', 'rpm', 'pypi', 'oci']) {
    for (const [index, vector] of vectors(type).entries()) {
      const name = `${type} #${index + 1} ${vector.test_type} (${vector.test_group}): ${vector.description}`;
      if (vector.test_type === 'build') {
        it(name, () => assert.equal(built(vector.input as Components), vector.expected_output));
      } else if (vector.test_type === 'validate' && !vector.expected_failure) {
        // Canonical form: parsed into parts by the reference implementation, written again by the scanner's builder.
        it(name, () => {
          const parsed = PackageURL.fromString(vector.input as string);
          const parts = { ...parsed, qualifiers: parsed.qualifiers ?? null, subpath: parsed.subpath ?? null };
          assert.equal(
            built({ ...parts, namespace: parts.namespace ?? null, version: parts.version ?? null }),
            vector.expected_output,
          );
        });
      } else if (vector.test_type === 'parse' && !vector.expected_failure) {
        it(name, () => {
          const parsed = PackageURL.fromString(vector.input as string);
          const expected = vector.expected_output as Components;
          assert.deepEqual(
            [
              parsed.type,
              parsed.namespace ?? null,
              parsed.name,
              parsed.version ?? null,
              parsed.qualifiers ? { ...parsed.qualifiers } : null,
            ],
            [expected.type, expected.namespace, expected.name, expected.version, expected.qualifiers],
          );
        });
      }
    }
  }

  it("needs its one correction: packageurl-js alone leaves '+' raw in a version, against the deb vector", () => {
    const plain = new PackageURL('deb', 'debian', 'attr', '1:2.4.47-2+b1', { arch: 'amd64' }, undefined).toString();
    assert.equal(plain, 'pkg:deb/debian/attr@1:2.4.47-2+b1?arch=amd64', 'when this fails, drop the correction');
    const corrected = buildPurl({
      type: 'deb',
      namespace: 'debian',
      name: 'attr',
      version: '1:2.4.47-2+b1',
      qualifiers: { arch: 'amd64' },
    });
    assert.equal(corrected, 'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64');
  });
});

describe("the scanner's purls", () => {
  const bookworm = { id: 'debian', versionId: '12', codename: 'bookworm', prettyName: '', pointRelease: '12.8' };
  const deb = (name: string, version: string, arch?: string): InstalledPackage => ({
    type: 'deb',
    name,
    version,
    sourceName: name,
    sourceVersion: version,
    ...(arch ? { arch } : {}),
  });

  it('keeps the epoch colon of a deb version and encodes its plus signs; the distro names the point release', () => {
    assert.equal(
      purlOf(deb('login', '1:4.13+dfsg1-1+b1', 'amd64'), bookworm),
      'pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12.8',
    );
    assert.equal(
      purlOf(deb('libstdc++6', '12.2.0-14'), bookworm),
      'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?distro=debian-12.8',
    );
  });

  it("keeps a Python name's dots and lowers its case, as the pypi type says (oslo.config, not oslo-config)", () => {
    const python = (name: string): InstalledPackage => ({
      type: 'pypi',
      name,
      version: '9.0.0',
      sourceName: name,
      sourceVersion: '9.0.0',
    });
    assert.equal(purlOf(python('oslo.config'), bookworm), 'pkg:pypi/oslo.config@9.0.0');
    assert.equal(purlOf(python('Oslo_Config'), bookworm), 'pkg:pypi/oslo-config@9.0.0');
  });

  it("writes an rpm's epoch as a qualifier and a Rocky point release as its distro", () => {
    const rocky = { id: 'rocky', versionId: '9.4', codename: '', prettyName: '' };
    const openssl: InstalledPackage = { ...deb('openssl-libs', '1:3.0.7-27.el9', 'x86_64'), type: 'rpm' };
    assert.equal(
      purlOf(openssl, rocky),
      'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1',
    );
  });

  it('names an image by its manifest digest, where it lives and its tag', () => {
    const digest = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
    assert.equal(
      imagePurl('127.0.0.1:5000/ci-builder-dev/keystone:zed-debian-bookworm-20261206T030000', digest),
      `pkg:oci/keystone@${digest}?repository_url=127.0.0.1%3A5000%2Fci-builder-dev%2Fkeystone&tag=zed-debian-bookworm-20261206T030000`,
    );
    assert.equal(
      imagePurl('localhost/ns/cron:t1', undefined),
      'pkg:oci/cron?repository_url=localhost%2Fns%2Fcron&tag=t1',
    );
  });
});
