import { availableParallelism } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { proxyFromConfig } from '../proxy/from-config.js';
import { parseListenAddress, withFixedPort, type ListenAddress } from '../proxy/listen.js';
import { formatAccessLog, type AccessLogEntry } from '../proxy/server.js';
import {
  maxWorkers,
  runProxyWorker,
  WorkerPool,
  WORKERS_PER_CORE,
  type WorkerOutput,
  type WorkerProxy,
} from '../proxy/workers.js';
import { UsageError } from '../util/errors.js';
import { openConfig, type ConfigChoice } from './workspace.js';

export { maxWorkers } from '../proxy/workers.js';

export type AccessLogStyle = 'text' | 'json' | 'off';

/** What a worker of `proxy serve --workers N` is told: it loads config and secrets itself. */
export interface ProxyWorkerRequest {
  globals: ConfigChoice;
  listen: ListenAddress;
  /** null: no cache; undefined: the config's. */
  cacheDir: string | null | undefined;
  accessLog: AccessLogStyle;
}

/** `proxy serve`: the authenticating proxy until the signal, in one process or a pool of workers. */
export interface ProxyServeRequest {
  loaded: LoadedConfig;
  /** The config as the workers load it again (the credential never travels between processes). */
  configChoice: ConfigChoice;
  listen: string;
  listenUnsafe: boolean;
  cacheDir: string | null | undefined;
  /** Wait this long for Pulp's status endpoint before saying ready; undefined: do not wait. */
  waitSeconds?: number;
  /** Processes serving the socket; default the number of cores. */
  workers?: number;
  accessLog: AccessLogStyle;
  /** The script a worker runs (cli/proxy-worker-main). */
  workerScript: string;
  /** Access log lines and warnings, one a call, for stderr. */
  onLogLine: (line: string) => void;
  /** Once ready: where it listens and what it forwards to. */
  onListening: (origin: string, upstream: string | undefined) => void;
  signal: AbortSignal;
}

/** Serves until the signal; returns when every worker and the server have stopped. */
export async function serveProxy(request: ProxyServeRequest): Promise<void> {
  const { loaded, signal, accessLog } = request;
  const workers = workerCount(request.workers);
  const listen = parseListenAddress(request.listen, request.listenUnsafe);
  const { cacheDir } = request;
  const onAccess =
    accessLog === 'off' ? undefined : (entry: AccessLogEntry) => request.onLogLine(accessLine(accessLog, entry));
  const server = proxyFromConfig(loaded, loadSecrets(loaded.secretsFile, loaded.readYaml), {
    listen,
    cacheDir,
    onAccess,
  });
  // With workers, this process's proxy never listens: it checked the config and waits for Pulp.
  const pool =
    workers === 1
      ? undefined
      : new WorkerPool<ProxyWorkerRequest>({
          count: workers,
          script: request.workerScript,
          request: { globals: request.configChoice, listen: await withFixedPort(listen), cacheDir, accessLog },
          onLog: (text) => request.onLogLine(text.replace(/\n$/, '')),
          onWarning: warnOncePerLine(request.onLogLine),
        });
  const origin = pool ? await pool.start(signal) : await server.start();
  const stopped = new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  try {
    // Interrupted while the workers started: they are stopped already, and nothing was ready.
    if (origin === undefined) return;
    const { waitSeconds } = request;
    const waited = waitSeconds === undefined ? Promise.resolve() : server.waitForUpstream(waitSeconds * 1000, signal);
    await (pool ? Promise.race([waited, pool.failed]) : waited);
    if (signal.aborted) return;
    request.onListening(origin, loaded.config.pulp?.url);
    await (pool ? Promise.race([stopped, pool.failed]) : stopped);
  } finally {
    await pool?.stop();
    await server.stop();
  }
}

/** One worker of the pool: the same config and secrets as the primary, serving the shared socket. */
export async function startProxyWorker(request: ProxyWorkerRequest, output: WorkerOutput): Promise<WorkerProxy> {
  // The primary already printed the config's warnings.
  const loaded = openConfig(request.globals, () => undefined);
  const { access } = output;
  const style = request.accessLog;
  const proxy = proxyFromConfig(loaded, loadSecrets(loaded.secretsFile, loaded.readYaml), {
    listen: request.listen,
    cacheDir: request.cacheDir,
    onAccess: access && ((entry) => access(accessLine(style, entry))),
    onWarning: output.warning,
  });
  const origin = await proxy.start();
  return { origin, stop: () => proxy.stop() };
}

/** This process is a worker of the pool: it serves what the primary asks until told to stop. */
export function serveAsProxyWorker(): void {
  runProxyWorker<ProxyWorkerRequest>(startProxyWorker, (request) => request.accessLog !== 'off');
}

function accessLine(style: AccessLogStyle, entry: AccessLogEntry): string {
  return style === 'json' ? JSON.stringify(entry) : formatAccessLog(entry);
}

/** The --workers asked for, or the number of cores; a fork per worker must not take the host down. */
function workerCount(asked: number | undefined): number {
  const most = maxWorkers();
  if (asked !== undefined && asked > most) {
    const why = `${WORKERS_PER_CORE} per core: more processes only compete for the cores`;
    throw new UsageError(`--workers ${asked}: at most ${most} on this host (${why})`);
  }
  return asked ?? availableParallelism();
}

/** Every worker meets the same full disk or limit: the operator reads it once. */
function warnOncePerLine(write: (line: string) => void): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (said.has(line)) return;
    said.add(line);
    write(line);
  };
}
