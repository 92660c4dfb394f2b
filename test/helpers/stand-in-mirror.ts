import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface MirrorRequest {
  method: string;
  path: string;
  status: number;
  headers: IncomingHttpHeaders;
}

export interface StandInMirror {
  origin: string;
  root: string;
  requests: MirrorRequest[];
  /** Requests for one path that the mirror answered with its body (200). */
  fullAnswers(path: string): number;
  stop(): Promise<void>;
}

export interface StandInMirrorOptions {
  /**
   * Compress answers for clients that accept gzip, as nginx does with `gzip on` for its gzip_types:
   * Content-Encoding: gzip, Vary: Accept-Encoding, no Content-Length, and a weak ETag.
   */
  gzip?: boolean;
}

/**
 * A package mirror on loopback serving a folder as a web server does: ETag (a digest of the
 * content) and Last-Modified (the file's time) on every answer, 304 to a matching
 * If-None-Match or If-Modified-Since, HEAD, 404 for what is not there. It records every request.
 */
export async function startStandInMirror(root: string, options: StandInMirrorOptions = {}): Promise<StandInMirror> {
  const requests: MirrorRequest[] = [];
  const server = http.createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/');
    const answer = (status: number, headers: Record<string, string | number> = {}, body?: Buffer) => {
      requests.push({ method: request.method ?? '', path, status, headers: request.headers });
      response.writeHead(status, headers);
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    const file = join(root, normalize(path));
    if (!file.startsWith(root) || (request.method !== 'GET' && request.method !== 'HEAD')) return answer(400);
    let content: Buffer;
    let modified: Date;
    try {
      const info = statSync(file);
      if (!info.isFile()) return answer(404);
      content = readFileSync(file);
      modified = info.mtime;
    } catch {
      return answer(404);
    }
    const etag = `"${createHash('sha256').update(content).digest('hex').slice(0, 16)}"`;
    const lastModified = modified.toUTCString();
    const validators = { etag, 'last-modified': lastModified };
    const ifNoneMatch = request.headers['if-none-match'];
    const ifModifiedSince = request.headers['if-modified-since'];
    const unchanged =
      ifNoneMatch !== undefined
        ? ifNoneMatch.split(',').some((tag) => tag.trim() === etag)
        : ifModifiedSince !== undefined && Math.floor(modified.getTime() / 1000) * 1000 <= Date.parse(ifModifiedSince);
    if (unchanged) return answer(304, validators);
    if (options.gzip && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
      const encoded = { etag: `W/${etag}`, 'last-modified': lastModified, vary: 'Accept-Encoding' };
      const type = { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' };
      return answer(200, { ...encoded, ...type }, gzipSync(content));
    }
    answer(
      200,
      { ...validators, 'content-type': 'application/octet-stream', 'content-length': content.length },
      content,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    root,
    requests,
    fullAnswers: (path) => requests.filter((entry) => entry.path === path && entry.status === 200).length,
    stop: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

export const PROBE_PACKAGE = 'ci-builder-probe';

/**
 * A tiny apt repository made with Debian's own tools: one package built by dpkg-deb, its
 * index by dpkg-scanpackages, in `<root>/debian/{pool,dists}` for suite `stable`, component
 * `main`, the host's architecture. Unsigned: the repository is configured `trusted: true`.
 */
export function makeTinyAptRepository(root: string): { suite: string; architecture: string } {
  const architecture = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const build = join(root, 'build', PROBE_PACKAGE);
  mkdirSync(join(build, 'DEBIAN'), { recursive: true });
  mkdirSync(join(build, 'usr/share', PROBE_PACKAGE), { recursive: true });
  writeFileSync(
    join(build, 'DEBIAN/control'),
    [
      `Package: ${PROBE_PACKAGE}`,
      'Version: 1.0',
      'Architecture: all',
      'Maintainer: ci-builder tests <tests@example.invalid>',
      'Description: a package the package cache tests install',
      '',
    ].join('\n'),
  );
  // Some bulk, so a second download would show in the byte counters.
  writeFileSync(join(build, 'usr/share', PROBE_PACKAGE, 'payload'), Buffer.alloc(256 * 1024, 7));
  const repo = join(root, 'debian');
  const pool = join(repo, 'pool/main/c', PROBE_PACKAGE);
  mkdirSync(pool, { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', build, join(pool, `${PROBE_PACKAGE}_1.0_all.deb`)], {
    stdio: 'ignore',
  });
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool'], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const indexDir = `main/binary-${architecture}`;
  const dists = join(repo, 'dists/stable');
  mkdirSync(join(dists, indexDir), { recursive: true });
  const indexes: Record<string, Buffer> = {
    [`${indexDir}/Packages`]: Buffer.from(packages),
    [`${indexDir}/Packages.gz`]: gzipSync(packages),
  };
  for (const [name, content] of Object.entries(indexes)) writeFileSync(join(dists, name), content);
  const sums = Object.entries(indexes).map(
    ([name, content]) => ` ${createHash('sha256').update(content).digest('hex')} ${content.length} ${name}`,
  );
  const release = [
    'Origin: ci-builder tests',
    'Suite: stable',
    'Codename: stable',
    `Date: ${new Date().toUTCString()}`,
    `Architectures: ${architecture}`,
    'Components: main',
    'SHA256:',
    ...sums,
    '',
  ].join('\n');
  writeFileSync(join(dists, 'Release'), release);
  return { suite: 'stable', architecture };
}
