import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { temporaryDir, waitFor } from './index.js';

export interface TestDockerd {
  /** unix:// socket address for DOCKER_HOST */
  host: string;
  stop(): Promise<void>;
}

/** A Docker engine of the test's own: host network only, no bridge, no iptables (what works on a plain host). */
export async function startDockerd(): Promise<TestDockerd> {
  const dir = temporaryDir('ci-builder-dockerd-');
  const socket = join(dir, 'docker.sock');
  const child = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '-H',
      `unix://${socket}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = `unix://${socket}`;
  try {
    await waitFor(
      'dockerd',
      async () => {
        const info = spawn('/usr/bin/docker', ['info'], {
          env: { ...process.env, DOCKER_HOST: host },
          stdio: 'ignore',
        });
        return new Promise<boolean>((resolve) => info.on('close', (code) => resolve(code === 0)));
      },
      60_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${log}`, { cause: error });
  }
  return {
    host,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      // dockerd can leave its default network namespace mounted under the exec root.
      spawnSync('umount', ['--lazy', join(dir, 'exec/netns/default')], { stdio: 'ignore' });
    },
  };
}
