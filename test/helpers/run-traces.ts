import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** What a run can leave behind on the host, taken before it starts. */
export interface HostTraces {
  containers: Set<string>;
  mounts: Set<string>;
  tempEntries: Set<string>;
}

export interface BuildContainer {
  id: string;
  name: string;
  /** The image it was made from (the FROM of a build). */
  image: string;
}

const buildah = (args: readonly string[]) =>
  execFileSync('buildah', ['--storage-driver', 'overlay', ...args], { encoding: 'utf8' });

export const buildahContainers = (): BuildContainer[] => {
  const listed = JSON.parse(buildah(['containers', '--json']) || 'null') as Array<Record<string, string>> | null;
  return (listed ?? []).map((entry) => ({
    id: entry.id ?? '',
    name: entry.containername ?? '',
    image: entry.imagename ?? '',
  }));
};

/** Where each mounted build container's root filesystem is mounted, by container name. */
const containerMounts = (): Map<string, string> =>
  new Map(
    buildah(['mount'])
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields): fields is [string, string] => fields.length === 2),
  );

/** Mount table lines; each carries a mount id, so a new mount is a new line. */
export const mountLines = (): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '');

export function takeTraces(tempDir: string): HostTraces {
  return {
    containers: new Set(buildahContainers().map((container) => container.id)),
    mounts: new Set(mountLines()),
    tempEntries: new Set(readdirSync(tempDir)),
  };
}

/**
 * What appeared since the traces were taken and belongs to the run: other builds on the host come
 * and go meanwhile, so containers count only when `ours` says so, and mounts only when they are
 * not under the root filesystem of a build container that is not ours.
 */
export function newSince(
  before: HostTraces,
  tempDir: string,
  ours: (container: BuildContainer) => boolean,
): Record<keyof HostTraces, string[]> {
  const containers = buildahContainers();
  const fresh = containers.filter((container) => !before.containers.has(container.id));
  const foreign = new Set(containers.filter((container) => !ours(container)).map((container) => container.name));
  const foreignRoots = [...containerMounts()].filter(([name]) => foreign.has(name)).map(([, root]) => root);
  const underForeign = (line: string) => {
    const point = line.split(' ')[4] ?? '';
    return foreignRoots.some((root) => point === root || point.startsWith(`${root}/`));
  };
  return {
    containers: fresh.filter(ours).map((container) => `${container.id} from ${container.image}`),
    mounts: mountLines().filter((line) => !before.mounts.has(line) && !underForeign(line)),
    tempEntries: readdirSync(tempDir).filter((entry) => !before.tempEntries.has(entry)),
  };
}

/** Live processes whose environment or command line carries the marker: the run's children and theirs. */
export function processesMarked(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    if (Number(pid) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (args.includes(marker) || environment.includes(marker)) found.push(`${pid} ${args}`);
    } catch {
      // The process ended while being looked at.
    }
  }
  return found;
}

/** The loopback TCP ports a process is listening on, from its socket descriptors. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      const listening = state === '0A' && inode !== undefined && inodes.has(inode) && local !== undefined;
      if (listening) ports.push(Number.parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

/** Resolves with the connect error code, or 'connected' when something still listens. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
