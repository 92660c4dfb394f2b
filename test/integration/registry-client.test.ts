import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryClient, RegistryError } from '../../src/registry/client.js';
import { parseChallenge } from '../../src/registry/challenge.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

describe('the registry client against Debian\'s docker-registry', () => {
  let registry: TestRegistry;
  before(async () => (registry = await startRegistry()));
  after(async () => registry?.stop());

  it('answers the Basic challenge with the credentials', async () => {
    await new RegistryClient(registry.address, { username: registry.username, password: registry.password }, { insecure: true }).ping();
  });

  it('refuses without or with wrong credentials, saying so', async () => {
    await assert.rejects(new RegistryClient(registry.address, undefined, { insecure: true }).ping(), /wants credentials and none are configured/);
    await assert.rejects(new RegistryClient(registry.address, { username: registry.username, password: 'wrong' }, { insecure: true }).ping(), (error: unknown) => error instanceof RegistryError && error.status === 401);
  });

  it('reports a missing manifest as undefined and a missing repository as 404', async () => {
    const client = new RegistryClient(registry.address, { username: registry.username, password: registry.password }, { insecure: true });
    assert.equal(await client.headManifest('ns/nothing', 'tag'), undefined);
    await assert.rejects(client.listTags('ns/nothing'), (error: unknown) => error instanceof RegistryError && error.status === 404);
  });
});

describe('WWW-Authenticate parsing', () => {
  it('keeps commas inside quoted parameters', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://pulp.example.com/token/",service="pulp.example.com",scope="repository:ns/img:pull,push"'), {
      scheme: 'bearer',
      params: { realm: 'https://pulp.example.com/token/', service: 'pulp.example.com', scope: 'repository:ns/img:pull,push' },
    });
    assert.deepEqual(parseChallenge('Basic realm="test-registry"'), { scheme: 'basic', params: { realm: 'test-registry' } });
  });
});
