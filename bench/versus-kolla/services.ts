/**
 * The services the versus-kolla bench runs for itself: a dockerd of its own (its own data root, exec root
 * and socket, so nothing another build left in a shared engine is reused) and Debian's docker-registry,
 * without authentication, on a free loopback port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../../test/helpers/ports.js';
import { join } from 'node:path';

export interface Service {
  /** DOCKER_HOST for the dockerd, host:port for the registry. */
  address: string;
  stop(): Promise<void>;
}

async function waitFor(what: string, ready: () => boolean | Promise<boolean>, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log()}`);
    try {
      if (await ready()) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  child.kill('SIGKILL');
  throw new Error(`${what} did not come up in 90 s: ${log()}`);
}

function stopper(child: ChildProcess, after: () => void = () => undefined): () => Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    after();
  };
}

/**
 * A service's output goes to a file, not a pipe: the bench waits for its tools synchronously, so nothing
 * would drain a pipe, and a service blocked writing its log (dockerd logs every build step) stalls every build.
 */
function logFile(path: string): { fd: number; tail: () => string } {
  const fd = openSync(path, 'w');
  const tail = () => (existsSync(path) ? readFileSync(path, 'utf8').slice(-4000) : '');
  return { fd, tail };
}

/** dockerd as a plain host allows it: no bridge, no iptables; builds use the host network. */
export async function startDockerd(dir: string): Promise<Service> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const args = ['--iptables=false', '--ip-masq=false', '--bridge=none'];
  args.push('--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'));
  const log = logFile(join(dir, 'dockerd.log'));
  const child = spawn('dockerd', [...args, '-H', `unix://${socket}`], { stdio: ['ignore', log.fd, log.fd] });
  closeSync(log.fd);
  const address = `unix://${socket}`;
  const info = () =>
    spawnSync('/usr/bin/docker', ['info'], { env: { ...process.env, DOCKER_HOST: address }, stdio: 'ignore' })
      .status === 0;
  await waitFor('dockerd', info, child, log.tail);
  // dockerd can leave its default network namespace mounted under the exec root.
  const unmount = () => spawnSync('umount', ['--lazy', join(dir, 'exec/netns/default')], { stdio: 'ignore' });
  return { address, stop: stopper(child, unmount) };
}

/** Debian's docker-registry, anonymous, on loopback (docker and ci-builder push to loopback over plain HTTP). */
export async function startRegistry(dir: string): Promise<Service> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
    `http: { addr: 127.0.0.1:${port} }`,
    '',
  ];
  writeFileSync(join(dir, 'config.yml'), config.join('\n'));
  const log = logFile(join(dir, 'registry.log'));
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log.fd, log.fd] });
  closeSync(log.fd);
  const address = `127.0.0.1:${port}`;
  await waitFor('docker-registry', async () => (await fetch(`http://${address}/v2/`)).status === 200, child, log.tail);
  return { address, stop: stopper(child) };
}
