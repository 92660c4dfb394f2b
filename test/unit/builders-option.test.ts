import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builderName, createBuilder, parseBuilderList } from '../../src/engine/builders.js';
import { DockerEngine } from '../../src/engine/docker.js';
import { PodmanEngine } from '../../src/engine/podman.js';

const defaults = { engine: 'docker' as const, slots: 2 };

describe('--builders entries', () => {
  it('reads [ENGINE+]URL[#SLOTS], the engine and slots defaulting to the run', () => {
    const parsed = parseBuilderList(['tcp://10.0.0.5:2375', 'docker+ssh://ci@build2#6', 'local'], defaults);
    assert.deepEqual(parsed, {
      ok: true,
      value: [
        { url: 'tcp://10.0.0.5:2375', engine: 'docker', slots: 2 },
        { url: 'ssh://ci@build2', engine: 'docker', slots: 6 },
        { url: 'local', engine: 'docker', slots: 2 },
      ],
    });
  });

  it('refuses in one line what cannot work', () => {
    const refused = (entries: string[], engine: 'docker' | 'buildah' = 'docker') => {
      const parsed = parseBuilderList(entries, { ...defaults, engine });
      return parsed.ok ? 'accepted' : parsed.failure;
    };
    assert.match(refused(['http://host:2375']), /expected local, unix:\/\/\/path, tcp:\/\/host:port/);
    assert.match(refused(['tcp://h:1#0']), /slots must be 1 to 64/);
    assert.match(refused(['tcp://h:1', 'tcp://h:1#3']), /"tcp:\/\/h:1" is given twice/);
    assert.match(refused(['tcp://h:1'], 'buildah'), /only local can be a buildah builder/);
    assert.match(refused(['docker+tcp://h:1', 'podman+tcp://h:2']), /one engine, not docker and podman/);
    assert.equal(refused(['buildah+local'], 'docker'), 'accepted');
  });

  it('never names a builder with its password', () => {
    assert.equal(builderName({ url: 'ssh://ci:hunter2@build2' }), 'ssh://ci:<redacted>@build2');
    const parsed = parseBuilderList(['ssh://ci:hunter2@build2', 'ssh://ci:hunter2@build2'], defaults);
    assert.ok(!parsed.ok && !parsed.failure.includes('hunter2'));
  });

  it('speaks to docker through DOCKER_HOST and to podman through its service URL', () => {
    const docker = createBuilder({ url: 'tcp://127.0.0.1:2375', engine: 'docker', slots: 3 });
    assert.ok(docker.engine instanceof DockerEngine);
    assert.equal(docker.slots, 3);
    const podman = createBuilder({ url: 'unix:///run/podman/podman.sock', engine: 'podman', slots: 1 });
    assert.ok(podman.engine instanceof PodmanEngine);
    assert.equal(podman.name, 'unix:///run/podman/podman.sock');
  });
});
