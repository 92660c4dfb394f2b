import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { RegistryAuthError, RegistryConnectionError, RegistryProtocolError } from '../../src/registry/errors.js';
import { parseManifest } from '../../src/registry/manifest-shape.js';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/registry/media-types.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

interface StandIn {
  /** host:port, as a registry is configured. */
  address: string;
  origin: string;
  requests: Seen[];
  stop(): Promise<void>;
}

const open: StandIn[] = [];
after(async () => {
  for (const server of open) await server.stop();
});

/** A loopback HTTP server answering as `handle` says, for what docker-registry cannot be made to do. */
async function standIn(handle: (request: IncomingMessage, response: ServerResponse) => void, host = '127.0.0.1') {
  const requests: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    handle(request, response);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const served: StandIn = {
    address: `${host}:${port}`,
    origin: `http://${host}:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  open.push(served);
  return served;
}

const username = 'builder';
const password = 'hostile-peers-never-see-this';
const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const quick: RegistryClientOptions = { insecure: true, retry: { attempts: 2, backoffMs: 10 } };

/** A registry that wants a Bearer token from `realm`, and accepts the token `good`. */
const bearerRegistry = (realm: string) =>
  standIn((request, response) => {
    if (request.headers.authorization === 'Bearer good') return void response.writeHead(200).end('{}');
    response.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="registry"` }).end();
  });

/** A token server that records who asked and hands out `good`. */
const tokenServer = (host = '127.0.0.1') =>
  standIn((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"good"}');
  }, host);

describe('where a Bearer challenge may send the credential', () => {
  it('not to a realm on another host, unless registry_token_hosts lists it', async () => {
    const tokens = await tokenServer('127.0.0.2');
    const registry = await bearerRegistry(`${tokens.origin}/token`);
    const client = new RegistryClient(registry.address, { username, password }, quick);
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof RegistryAuthError, String(error));
      assert.equal(
        error.message,
        `registry ${registry.address} sends its token requests to ${tokens.origin}/token, on another host: ` +
          "the credential is not sent there (list 127.0.0.2 in registry_token_hosts if it is the registry's token service)",
      );
      return true;
    });
    assert.equal(tokens.requests.length, 0, 'the token server never heard from the client');

    const listed = new RegistryClient(registry.address, { username, password, tokenHosts: ['127.0.0.2'] }, quick);
    await listed.ping();
    assert.equal(tokens.requests.length, 1);
    assert.equal(tokens.requests[0]?.headers.authorization, basic);
  });

  it("to a realm on the registry's own host, on another port too", async () => {
    const tokens = await tokenServer();
    const registry = await bearerRegistry(`${tokens.origin}/token`);
    await new RegistryClient(registry.address, { username, password }, quick).ping();
    assert.equal(tokens.requests[0]?.headers.authorization, basic);
  });

  it('never over plain HTTP to a host that is not loopback, listed or not, and never to another scheme', async () => {
    const realms: Array<[string, string]> = [
      [
        'http://auth.example.invalid/token',
        'plain HTTP to a host that is not loopback: the credential would travel in clear',
      ],
      ['ftp://127.0.0.1/token', 'not an http(s) URL'],
      ['not a url', 'not an http(s) URL'],
    ];
    for (const [realm, why] of realms) {
      const registry = await bearerRegistry(realm);
      const tokenHosts = ['auth.example.invalid'];
      const client = new RegistryClient(registry.address, { username, password, tokenHosts }, quick);
      await assert.rejects(client.ping(), (error: unknown) => {
        assert.ok(error instanceof RegistryAuthError, String(error));
        assert.ok(error.message.endsWith(why), error.message);
        assert.ok(!error.message.includes(password));
        return true;
      });
    }
  });

  it('anonymous requests follow the realm wherever it is: no credential travels', async () => {
    const tokens = await tokenServer('127.0.0.2');
    const registry = await bearerRegistry(`${tokens.origin}/token`);
    await new RegistryClient(registry.address, undefined, quick).ping();
    assert.equal(tokens.requests[0]?.headers.authorization, undefined);
  });
});

describe('every registry request is bounded in time', () => {
  it('fails a token endpoint that never answers in one line, after the answer time, not 300 s', async () => {
    const silent = await standIn(() => undefined);
    const registry = await bearerRegistry(`${silent.origin}/token`);
    const client = new RegistryClient(
      registry.address,
      { username, password },
      { ...quick, timeouts: { answerMs: 300 } },
    );
    const started = Date.now();
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof RegistryConnectionError, String(error));
      assert.equal(error.message, `GET ${silent.origin}/token: no answer within 0.3 s`);
      return true;
    });
    assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
    assert.equal(silent.requests.length, 1, 'a request that got no answer is not sent again');
  });

  it('fails an answer whose body stops coming', async () => {
    const stalling = await standIn((_request, response) => {
      response.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': '1000' });
      response.write('{"schemaVersion":');
    });
    const client = new RegistryClient(stalling.address, undefined, { ...quick, timeouts: { idleMs: 300 } });
    const started = Date.now();
    await assert.rejects(client.getRawManifest('dev/img', 'v1'), (error: unknown) => {
      assert.ok(error instanceof RegistryConnectionError, String(error));
      assert.equal(error.message, 'GET /v2/dev/img/manifests/v1: the answer stalled (nothing for 0.3 s)');
      return true;
    });
    assert.ok(Date.now() - started < 3000);
  });

  it('stops at once when its signal aborts, without another request', async () => {
    const silent = await standIn(() => undefined);
    const controller = new AbortController();
    const client = new RegistryClient(silent.address, undefined, { ...quick, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await assert.rejects(copyImage(client, 'dev/img', 'rel/img', 'v1'), { name: 'AbortError' });
    assert.ok(Date.now() - started < 1000, `stopped after ${Date.now() - started} ms`);
    assert.equal(silent.requests.length, 1);
  });
});

describe('what the client reads of an answer', () => {
  const MiB = 1024 * 1024;

  it('refuses a manifest larger than 4 MiB, announced or not, without reading it whole', async () => {
    let written = 0;
    const big = await standIn((request, response) => {
      if (request.url?.endsWith('/announced')) {
        response.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(5 * MiB) });
        return void response.end(Buffer.alloc(5 * MiB, 0x20));
      }
      response.writeHead(200, { 'content-type': OCI_MANIFEST });
      const more = () => {
        // Endless, as a hostile registry may send; the client must stop reading.
        while (written < 64 * MiB && response.write(Buffer.alloc(MiB, 0x20))) written += MiB;
        if (written < 64 * MiB) response.once('drain', more);
        else response.end();
      };
      more();
    });
    const client = new RegistryClient(big.address, undefined, quick);
    for (const reference of ['announced', 'endless']) {
      await assert.rejects(client.getRawManifest('dev/img', reference), (error: unknown) => {
        assert.ok(error instanceof RegistryProtocolError, String(error));
        assert.equal(error.message, `GET /v2/dev/img/manifests/${reference}: the answer is larger than 4 MiB`);
        return true;
      });
    }
    assert.ok(written < 32 * MiB, `the registry got to write ${written / MiB} MiB`);
  });

  it('says in one line that an answer is not JSON', async () => {
    const html = await standIn((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    });
    const client = new RegistryClient(html.address, undefined, quick);
    await assert.rejects(client.listTags('dev/img'), {
      name: 'RegistryProtocolError',
      message: 'GET /v2/dev/img/tags/list?n=100: the answer is not JSON',
    });
  });
});

describe('links and locations a registry answers with', () => {
  it('says in one line that a Link is no URL, and stops at a next page already read', async () => {
    const paging = await standIn((request, response) => {
      const link = request.url?.includes('/bad/') ? '<http://[oops>; rel="next"' : `<${request.url ?? ''}>; rel="next"`;
      response.writeHead(200, { 'content-type': 'application/json', link }).end('{"tags":["a"]}');
    });
    const client = new RegistryClient(paging.address, undefined, quick);
    await assert.rejects(client.listTags('dev/bad'), {
      name: 'RegistryProtocolError',
      message: 'GET /v2/dev/bad/tags/list?n=100: Link "http://[oops" is not a URL',
    });
    await assert.rejects(client.listTags('dev/loop'), {
      name: 'RegistryProtocolError',
      message: 'GET /v2/dev/loop/tags/list?n=100: the next page is one already read',
    });
    assert.equal(paging.requests.length, 2, 'one page each');
  });

  it('says in one line that a mount answered with a Location that is no URL', async () => {
    const mounting = await standIn((_request, response) => {
      response.writeHead(202, { location: 'http://[oops/upload' }).end();
    });
    const client = new RegistryClient(mounting.address, undefined, quick);
    await assert.rejects(client.mountBlob('rel/img', digestOf('a'), 'dev/img'), {
      name: 'RegistryProtocolError',
      message: `POST /v2/rel/img/blobs/uploads/?mount=${digestOf('a').replace(':', '%3A')}&from=dev%2Fimg: Location "http://[oops/upload" is not a URL`,
    });
  });
});

const digestOf = (letter: string) => `sha256:${letter.repeat(64)}`;
const descriptor = (mediaType: string, letter: string) => ({ mediaType, digest: digestOf(letter), size: 10 });
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('manifest and index shape (pure)', () => {
  const image = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('c', 'a'), layers: [] };
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, 'b')] };

  it('reads an image manifest and an index into their descriptors', () => {
    assert.deepEqual(parseManifest(bytes(image), OCI_MANIFEST, 'dev/img:v1'), {
      kind: 'image',
      config: descriptor('c', 'a'),
      layers: [],
    });
    assert.deepEqual(parseManifest(bytes(index), `${OCI_INDEX}; charset=utf-8`, 'dev/img:v1'), {
      kind: 'index',
      manifests: [descriptor(OCI_MANIFEST, 'b')],
    });
  });

  const refused: Array<[string, Buffer, string, string]> = [
    ['not JSON', Buffer.from('{"manifests": ['), OCI_INDEX, 'not JSON'],
    ['an array', bytes([index]), OCI_INDEX, 'not a JSON object'],
    [
      'manifests as a string',
      bytes({ ...index, manifests: 'abcdefghijklmnopqrstuvwxyz012' }),
      OCI_INDEX,
      'manifests: not a list',
    ],
    ['manifests empty string', bytes({ ...index, manifests: '' }), OCI_INDEX, 'manifests: not a list'],
    ['manifests missing', bytes({ schemaVersion: 2, mediaType: OCI_INDEX }), OCI_INDEX, 'manifests: not a list'],
    ['a child that is a string', bytes({ ...index, manifests: ['x'] }), OCI_INDEX, 'manifests[0]: not a descriptor'],
    [
      'a digest that walks out of the path',
      bytes({ ...index, manifests: [{ ...descriptor(OCI_MANIFEST, 'b'), digest: '../../v2/x' }] }),
      OCI_INDEX,
      'manifests[0].digest: not a digest',
    ],
    [
      'a negative size',
      bytes({ ...index, manifests: [{ ...descriptor(OCI_MANIFEST, 'b'), size: -1 }] }),
      OCI_INDEX,
      'manifests[0].size: not a size',
    ],
    ['schemaVersion 1', bytes({ ...image, schemaVersion: 1 }), OCI_MANIFEST, 'schemaVersion: not 2'],
    ['no config', bytes({ ...image, config: undefined }), OCI_MANIFEST, 'config: not a descriptor'],
    ['layers as an object', bytes({ ...image, layers: {} }), OCI_MANIFEST, 'layers: not a list'],
    [
      'an index served as an image',
      bytes(index),
      OCI_MANIFEST,
      `mediaType: ${OCI_INDEX} in the body, ${OCI_MANIFEST} in the answer`,
    ],
    ['an unknown type', bytes(image), 'text/plain', 'unsupported manifest type "text/plain"'],
  ];
  for (const [what, body, mediaType, why] of refused) {
    it(`refuses ${what}, naming the reference`, () => {
      assert.throws(() => parseManifest(body, mediaType, 'dev/img:v1'), {
        name: 'RegistryProtocolError',
        message: `dev/img:v1: ${why}`,
      });
    });
  }
});

describe('copying a malformed index', () => {
  it('fails naming the reference and puts nothing, where the string was iterated and put as copied', async () => {
    const puts: string[] = [];
    for (const manifests of ['', 'abcdefghijklmnopqrstuvwxyz012']) {
      const body = bytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
      const registry = await standIn((request, response) => {
        if (request.method === 'PUT') puts.push(request.url ?? '');
        if (request.url?.startsWith('/v2/dev/')) {
          response.writeHead(200, { 'content-type': OCI_INDEX, 'content-length': String(body.length) });
          return void response.end(request.method === 'HEAD' ? undefined : body);
        }
        response.writeHead(request.method === 'PUT' ? 201 : 404).end();
      });
      const client = new RegistryClient(registry.address, undefined, quick);
      await assert.rejects(copyImage(client, 'dev/img', 'rel/img', 'v1'), {
        name: 'RegistryProtocolError',
        message: 'dev/img:v1: manifests: not a list',
      });
    }
    assert.deepEqual(puts, []);
  });
});
