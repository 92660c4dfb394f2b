import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, temporaryDir, waitFor } from './index.js';

export interface TestRegistry {
  /** host:port on loopback */
  address: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

/** Debian's docker-registry (the OCI distribution registry) with htpasswd auth, on a free loopback port. */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = temporaryDir('ci-builder-registry-');
  const port = await freePort();
  const username = 'builder';
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const htpasswd = spawnSync('htpasswd', ['-iBn', username], { input: password, encoding: 'utf8' });
  if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`);
  writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout);
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      `auth: { htpasswd: { realm: test-registry, path: ${join(dir, 'htpasswd')} } }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  try {
    await waitFor('the registry', async () => (await fetch(`http://${address}/v2/`)).status === 401);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${stderr}`);
  }
  return {
    address,
    username,
    password,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
