import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RegistryClient, sha256Digest } from '../../src/registry/client.js';
import { OCI_MANIFEST } from '../../src/registry/media-types.js';
import { freePort, temporaryDir, waitFor } from './index.js';
import { startTokenServer, type TokenRequest, type TokenServer } from './token-server.js';

export interface TestRegistry {
  /** host:port on loopback */
  address: string;
  username: string;
  password: string;
  /** The registry's storage folder: its blobs and manifests, as the registry keeps them. */
  storageDir: string;
  /** Requests the token endpoint received (token auth only). */
  tokenRequests: TokenRequest[];
  stop(): Promise<void>;
}

export type RegistryAuthMode =
  | { kind: 'htpasswd' }
  /** docker-registry's `auth: token:` with a token endpoint run by the test. */
  | { kind: 'token'; field: 'token' | 'access_token'; expiresIn?: number };

/** Debian's docker-registry (the OCI distribution registry) on a free loopback port; htpasswd unless told otherwise. */
export async function startRegistry(auth: RegistryAuthMode = { kind: 'htpasswd' }): Promise<TestRegistry> {
  const dir = temporaryDir('ci-builder-registry-');
  const port = await freePort();
  const username = 'builder';
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const storageDir = join(dir, 'data');
  let tokenServer: TokenServer | undefined;
  let authConfig: string;
  if (auth.kind === 'token') {
    const service = 'ci-builder-test-registry';
    const issuer = 'ci-builder-test-issuer';
    const lifetime = auth.expiresIn ? { expiresIn: auth.expiresIn } : {};
    tokenServer = await startTokenServer(dir, { username, password, service, issuer, field: auth.field, ...lifetime });
    const { realm, certFile } = tokenServer;
    const token = `realm: "${realm}", service: ${service}, issuer: ${issuer}, rootcertbundle: ${certFile}`;
    authConfig = `auth: { token: { ${token} } }`;
  } else {
    const htpasswd = spawnSync('htpasswd', ['-iBn', username], { input: password, encoding: 'utf8' });
    if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout);
    authConfig = `auth: { htpasswd: { realm: test-registry, path: ${join(dir, 'htpasswd')} } }`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${storageDir} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      authConfig,
      '',
    ].join('\n'),
  );
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'ignore', 'pipe'];
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  try {
    await waitFor('the registry', async () => (await fetch(`http://${address}/v2/`)).status === 401);
  } catch (error) {
    child.kill('SIGKILL');
    await tokenServer?.stop();
    throw new Error(`${(error as Error).message}: ${stderr}`, { cause: error });
  }
  return {
    address,
    username,
    password,
    storageDir,
    tokenRequests: tokenServer?.requests ?? [],
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await tokenServer?.stop();
    },
  };
}

export interface PushedImage {
  digest: string;
  manifest: Buffer;
  layers: string[];
}

/**
 * Pushes a two-layer OCI image with the client's own blob upload: gzip'd layers, a config
 * naming their diff ids, a manifest. Contents differ per `seed`, so images differ per call.
 */
export async function pushTwoLayerImage(
  client: RegistryClient,
  repository: string,
  tag: string,
  seed: string,
): Promise<PushedImage> {
  const raw = [Buffer.from(`layer one of ${seed}\n`.repeat(200)), Buffer.from(`layer two of ${seed}\n`.repeat(300))];
  const layers = raw.map((bytes) => gzipSync(bytes));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: raw.map((bytes) => sha256Digest(bytes)) },
    }),
  );
  const layerDigests: string[] = [];
  for (const layer of layers) layerDigests.push(await client.uploadBlob(repository, layer));
  const configDigest = await client.uploadBlob(repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((layer, index) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layerDigests[index],
        size: layer.length,
      })),
    }),
  );
  const digest = await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  return { digest, manifest, layers: layerDigests };
}

/** A client of the test registry with its login, over plain HTTP. */
export function clientOf(registry: TestRegistry): RegistryClient {
  return new RegistryClient(
    registry.address,
    { username: registry.username, password: registry.password },
    { insecure: true },
  );
}
