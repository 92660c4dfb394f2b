import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, temporaryDir, waitFor } from './index.js';

export interface TestDockerd {
  /** DOCKER_HOST for this daemon: unix:// socket, or tcp://127.0.0.1:PORT when asked for TCP */
  host: string;
  /** Takes the daemon away at once (SIGKILL to it and its containerd), as a builder host that dies. */
  kill(): void;
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** Listen on a free loopback TCP port instead of a unix socket (a remote builder, as seen by the client). */
  tcp?: boolean;
}

/** A Docker engine of the test's own: host network only, no bridge, no iptables (what works on a plain host). */
export async function startDockerd(options: DockerdOptions = {}): Promise<TestDockerd> {
  const dir = temporaryDir('ci-builder-dockerd-');
  const host = options.tcp ? `tcp://127.0.0.1:${await freePort()}` : `unix://${join(dir, 'docker.sock')}`;
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
      host,
    ],
    // Its own process group: kill() reaches the build processes it started too.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
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
  let killed = false;
  const kill = () => {
    if (killed || child.pid === undefined) return;
    killed = true;
    const containerd = join(dir, 'exec/containerd/containerd.pid');
    const containerdPid = existsSync(containerd) ? Number(readFileSync(containerd, 'utf8').trim()) : 0;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    if (containerdPid > 0) spawnSync('kill', ['-KILL', String(containerdPid)], { stdio: 'ignore' });
  };
  return {
    host,
    kill,
    stop: async () => {
      if (!killed) child.kill('SIGTERM');
      await exited;
      // dockerd can leave its network namespace and, when killed, its overlay mounts under its folder.
      unmountUnder(dir);
    },
  };
}

function unmountUnder(dir: string): void {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) spawnSync('umount', ['--lazy', point], { stdio: 'ignore' });
}
