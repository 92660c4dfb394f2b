import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientResponseHeaders, upstreamHeaderList, upstreamHeaderTemplate } from '../../src/proxy/headers.js';

describe('proxy header rules', () => {
  const template = upstreamHeaderTemplate({
    upstreamHost: 'pulp:443',
    authorization: 'Basic cHJveHk=',
    forwardedHost: '127.0.0.1:8080',
  });

  it('sets its own headers upstream, once, whatever the client claims', () => {
    const list = upstreamHeaderList(
      {
        host: 'evil',
        authorization: 'Basic Y2xpZW50',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil',
        'x-forwarded-proto': 'https',
        forwarded: 'for=10.0.0.1',
        cookie: 'a=b',
        'set-cookie': ['a=1', 'b=2'],
        accept: '*/*',
      },
      '127.0.0.1',
      template,
    );
    const pairs = list.flatMap((value, index) => (index % 2 === 0 ? [[value, list[index + 1]]] : []));
    assert.deepEqual(pairs, [
      ['host', 'pulp:443'],
      ['authorization', 'Basic cHJveHk='],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', '127.0.0.1:8080'],
      ['x-forwarded-for', '127.0.0.1'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['accept', '*/*'],
    ]);
    assert.ok(!template.includes('127.0.0.1'), 'the template is not changed by a request');
  });

  it('never sends a credential on a route without one', () => {
    const status = upstreamHeaderTemplate({ upstreamHost: 'pulp', authorization: undefined, forwardedHost: 'x:1' });
    const list = upstreamHeaderList({ authorization: 'Basic Y2xpZW50' }, '127.0.0.1', status);
    assert.ok(!list.includes('authorization'));
  });

  for (const connection of ['keep-alive', 'Keep-Alive', 'close', 'keep-alive, X-Hop', 'X-Hop', ' x-hop ,close']) {
    it(`drops hop-by-hop headers both ways, and those "Connection: ${connection}" names`, () => {
      const names = /x-hop/i.test(connection);
      const headers = { connection, 'keep-alive': 'timeout=5', 'x-hop': '1', 'x-kept': '1', 'set-cookie': ['a=1'] };
      const answer = clientResponseHeaders(headers, 'http://pulp');
      assert.deepEqual(Object.keys(answer).sort(), names ? ['x-kept'] : ['x-hop', 'x-kept']);
      const list = upstreamHeaderList(headers, '127.0.0.1', template);
      assert.equal(list.includes('x-hop'), !names);
      assert.ok(list.includes('x-kept') && !list.includes('keep-alive') && !list.includes('connection'));
    });
  }
});
