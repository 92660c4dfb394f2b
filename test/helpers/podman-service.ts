import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { temporaryDir, waitFor } from './index.js';

export interface TestPodmanService {
  /** unix:// address for `podman --url` (engine_url) */
  url: string;
  stop(): Promise<void>;
}

/** `podman system service` on a unix socket of the test's own, over the host's storage (as a service usually is). */
export async function startPodmanService(): Promise<TestPodmanService> {
  const url = `unix://${join(temporaryDir('ci-builder-podman-'), 'podman.sock')}`;
  const child = spawn('podman', ['system', 'service', '--time=0', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      'podman system service',
      async () => {
        const ping = spawn('podman', ['--url', url, 'version'], { stdio: 'ignore' });
        return new Promise<boolean>((resolve) => ping.on('close', (code) => resolve(code === 0)));
      },
      30_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${log}`, { cause: error });
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
