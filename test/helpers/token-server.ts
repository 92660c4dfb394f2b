import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TokenRequest {
  scopes: string[];
  service: string | null;
  authenticated: boolean;
}

export interface TokenServerOptions {
  username: string;
  password: string;
  service: string;
  issuer: string;
  /** Which field carries the token: Docker's `token` or OAuth2's `access_token`. */
  field: 'token' | 'access_token';
  expiresIn?: number;
}

export interface TokenServer {
  realm: string;
  /** The self-signed certificate docker-registry trusts (its rootcertbundle). */
  certFile: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

/**
 * The token endpoint of the distribution token spec, as a real auth server runs it: Basic
 * credentials in, an RS256 JWT out whose `access` claim grants what was asked. The signing key
 * is named in the `kid` header by its libtrust key id, which is how docker-registry 2.8 finds
 * the certificate in its rootcertbundle.
 */
export async function startTokenServer(dir: string, options: TokenServerOptions): Promise<TokenServer> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  const subject = '/CN=ci-builder test token issuer';
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', subject];
  const openssl = spawnSync('openssl', [...args, '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (openssl.status !== 0) throw new Error(`openssl req failed: ${openssl.stderr}`);
  const privateKey = createPrivateKey(readFileSync(keyFile));
  const kid = libtrustKeyId(createPublicKey(readFileSync(certFile)));
  const requests: TokenRequest[] = [];
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    const authenticated = request.headers.authorization === expected;
    requests.push({ scopes, service: url.searchParams.get('service'), authenticated });
    if (url.pathname !== '/token') return void response.writeHead(404).end();
    if (!authenticated) {
      return void response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const claims = {
      iss: options.issuer,
      sub: options.username,
      aud: options.service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: scopes.map(parseScope),
    };
    const token = signJwt({ typ: 'JWT', alg: 'RS256', kid }, claims, privateKey);
    const answer = JSON.stringify({ [options.field]: token, expires_in: expiresIn });
    response.writeHead(200, { 'content-type': 'application/json' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `repository:ns/name:pull,push` → the access entry granting exactly those actions. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

function signJwt(header: object, claims: object, key: KeyObject): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/**
 * libtrust's key id: SHA-256 of the DER public key (SubjectPublicKeyInfo), its first 240 bits
 * in unpadded base32, in groups of four joined by colons.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  return (base32(digest).match(/.{1,4}/g) ?? []).join(':');
}

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
