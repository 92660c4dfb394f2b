import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { UsageError, WorkFailedError, errorCodeOrMessage, errorMessage } from '../util/errors.js';
import { CRASH_TAIL_CHARS, crashReason } from './worker-crash.js';

/** What the primary tells a worker. */
export type ToWorker<Request> = { kind: 'serve'; request: Request } | { kind: 'stop' };

/** What a worker tells the primary. Access log lines come in batches, already formatted. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'listening'; origin: string }
  | { kind: 'failed'; message: string; exitCode: number }
  | { kind: 'log'; text: string }
  | { kind: 'warning'; line: string };

/** A proxy started inside a worker. */
export interface WorkerProxy {
  origin: string;
  stop: () => Promise<void>;
}

/** Where a worker sends its access log and warnings: to the primary, which writes them. */
export interface WorkerOutput {
  /** Undefined when nobody reads the access log: the worker then does not format it at all. */
  access: ((line: string) => void) | undefined;
  warning: (line: string) => void;
}

export interface WorkerPoolOptions<Request> {
  count: number;
  /** The script a worker runs; it calls runProxyWorker. */
  script: string;
  request: Request;
  /** Batches of access log lines, each ending in a newline. */
  onLog: (text: string) => void;
  onWarning: (line: string) => void;
}

/** A worker that dies is replaced; this many deaths within DEATH_WINDOW_MS mean something is wrong for good. */
const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 60_000;
/** Time a worker gets to close its connections when told to stop, before it is killed: the whole stop takes under 2 s. */
const STOP_GRACE_MS = 1_500;

/** Each worker is a whole proxy process: past a few per core they only compete for the cores and memory. */
export const WORKERS_PER_CORE = 4;

/** The most workers a pool may have on a host with this many cores. */
export function maxWorkers(cores = availableParallelism()): number {
  return WORKERS_PER_CORE * cores;
}

/**
 * N worker processes serving one listening socket (node:cluster: the primary accepts and
 * hands connections round-robin, so keep-alive clients spread evenly). Each worker is a
 * whole proxy with its own upstream connections; the primary only supervises, writes what
 * the workers log and stops them all. Workers ignore SIGINT and SIGTERM sent to the process
 * group and stop when the primary says so or when the primary is gone (their IPC channel
 * closes), so none outlives it.
 */
export class WorkerPool<Request> {
  private readonly workers = new Set<Worker>();
  private readonly deaths: number[] = [];
  private stopping = false;
  private origin: string | undefined;
  private fail: (error: Error) => void = () => undefined;
  /** Rejects when the pool cannot go on (workers keep dying, the socket was lost); never resolves. */
  readonly failed: Promise<never>;

  constructor(private readonly options: WorkerPoolOptions<Request>) {
    this.failed = new Promise<never>((_resolve, reject) => (this.fail = reject));
    // Whoever awaits the pool sees the failure through start() or failed; this only keeps it from being unhandled.
    this.failed.catch(() => undefined);
  }

  /**
   * Forks the workers; resolves to the origin once every one of them listens, or to undefined
   * when the signal stops the start (every worker is stopped by then).
   */
  async start(signal?: AbortSignal): Promise<string | undefined> {
    if (this.options.count > maxWorkers()) {
      throw new UsageError(`${this.options.count} proxy workers: at most ${maxWorkers()} on this host`);
    }
    // Piped, not inherited: a worker that dies says why in one line of the primary's, not with its stack.
    cluster.setupPrimary({ exec: this.options.script, args: [], silent: true });
    let onAbort = () => undefined as void;
    const interrupted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      if (signal?.aborted) resolve(undefined);
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const started = Array.from({ length: this.options.count }, () => this.fork(true));
      const origins = await Promise.race([Promise.all(started), this.failed, interrupted]);
      if (origins === undefined) {
        await this.stop();
        return undefined;
      }
      this.origin = origins[0];
      if (origins.some((origin) => origin !== this.origin)) {
        throw new WorkFailedError(`the proxy workers listen on different addresses: ${origins.join(', ')}`);
      }
      return this.origin ?? '';
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.workers].map((worker) => stopWorker(worker)));
  }

  /** A worker; an initial one that fails fails the start, a replacement that dies is replaced in turn. */
  private fork(initial: boolean): Promise<string> {
    let worker: Worker;
    try {
      worker = cluster.fork();
    } catch (error) {
      return Promise.reject(new WorkFailedError(`a proxy worker could not be started: ${errorCodeOrMessage(error)}`));
    }
    this.workers.add(worker);
    let stderrTail = '';
    worker.process.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderrTail = (stderrTail + text).slice(-CRASH_TAIL_CHARS);
    });
    worker.process.stdout?.resume();
    return new Promise<string>((resolve, reject) => {
      let listening = false;
      let ended = false;
      /** The worker is gone (exited, killed, or never started): said once, with its reason. */
      const end = (how: string, reason: string | undefined) => {
        if (ended) return;
        ended = true;
        this.workers.delete(worker);
        if (this.stopping) return;
        const why = reason === undefined ? '' : `: ${reason}`;
        if (initial && !listening) {
          const error = new WorkFailedError(`a proxy worker ${how} before it listened${why}`);
          reject(error);
          return this.fail(error);
        }
        this.replace(worker.process.pid ?? 0, `${how}${why}`);
      };
      worker.on('message', (message: FromWorker) => {
        switch (message.kind) {
          case 'ready': {
            ready.add(worker);
            const serve: ToWorker<Request> = { kind: 'serve', request: this.options.request };
            // A worker gone meanwhile is reported by its exit; the failed send says nothing more.
            worker.send(serve, ignoreSendError);
            return;
          }
          case 'listening':
            listening = true;
            return resolve(message.origin);
          case 'failed': {
            const error =
              message.exitCode === 2 ? new UsageError(message.message) : new WorkFailedError(message.message);
            reject(error);
            return this.fail(error);
          }
          case 'log':
            return this.options.onLog(message.text);
          case 'warning':
            return this.options.onWarning(message.line);
          default: {
            const never: never = message;
            return never;
          }
        }
      });
      // The host would not start the process (EAGAIN: too many processes; ENOMEM).
      worker.on('error', (error: Error) => end('could not be started', errorCodeOrMessage(error)));
      // After its output is read whole, so the reason it wrote last is there.
      worker.process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        end(signal ? `was killed by ${signal}` : `exited with code ${code}`, crashReason(stderrTail));
      });
    });
  }

  private replace(pid: number, how: string): void {
    const now = Date.now();
    this.deaths.push(now);
    while (this.deaths.length > 0 && (this.deaths[0] ?? now) < now - DEATH_WINDOW_MS) this.deaths.shift();
    if (this.deaths.length >= MAX_DEATHS) {
      const seconds = DEATH_WINDOW_MS / 1000;
      return this.fail(new WorkFailedError(`proxy workers keep dying (${MAX_DEATHS} within ${seconds}s); stopping`));
    }
    this.options.onWarning(`auth proxy: worker ${pid} ${how}; starting another`);
    this.fork(false).then(
      (origin) => {
        if (origin !== this.origin) {
          this.fail(new WorkFailedError(`a replacement proxy worker listens on ${origin}, not ${this.origin}`));
        }
      },
      (error: unknown) => this.fail(new WorkFailedError(`a replacement proxy worker failed: ${errorMessage(error)}`)),
    );
  }
}

/** Workers that listen for the primary's messages: one not yet ready would miss "stop", and serves nothing. */
const ready = new WeakSet<Worker>();

function ignoreSendError(): void {}

function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (worker.isDead()) return resolve();
    if (!ready.has(worker)) {
      worker.once('exit', () => resolve());
      worker.process.kill('SIGKILL');
      return;
    }
    const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
    worker.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    const stop: ToWorker<never> = { kind: 'stop' };
    if (worker.isConnected()) worker.send(stop, (error: Error | null) => error && worker.process.kill('SIGKILL'));
    else worker.process.kill('SIGKILL');
  });
}

/** How long a worker gathers access log lines before it sends them on: one message per batch, not per request. */
const LOG_BATCH_MS = 50;
const LOG_BATCH_BYTES = 64 * 1024;

/**
 * The worker's side: waits for the primary's serve request, starts the proxy, and reports.
 * `start` receives the request and where to send output; its errors become one line in the primary.
 */
export function runProxyWorker<Request>(
  start: (request: Request, output: WorkerOutput) => Promise<WorkerProxy>,
  logAccess: (request: Request) => boolean,
): void {
  const send = (message: FromWorker, done?: () => void) => {
    if (process.connected) process.send?.(message, undefined, {}, () => done?.());
    else done?.();
  };
  // The terminal's Ctrl-C and a service manager's SIGTERM reach the whole group: the primary decides.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);

  let pending = '';
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (done?: () => void) => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pending === '') return done?.();
    const text = pending;
    pending = '';
    send({ kind: 'log', text }, done);
  };
  const access = (line: string) => {
    pending += `${line}\n`;
    if (pending.length >= LOG_BATCH_BYTES) flush();
    else flushTimer ??= setTimeout(flush, LOG_BATCH_MS);
  };

  let proxy: WorkerProxy | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const exit = () => flush(() => process.exit(0));
    (proxy ? proxy.stop() : Promise.resolve()).then(exit, exit);
  };
  process.on('disconnect', () => {
    pending = '';
    stop();
  });
  process.on('message', (message: ToWorker<Request>) => {
    switch (message.kind) {
      case 'serve': {
        const output: WorkerOutput = {
          access: logAccess(message.request) ? access : undefined,
          warning: (line) => send({ kind: 'warning', line }),
        };
        start(message.request, output).then(
          (started) => {
            proxy = started;
            if (stopping) return void started.stop().finally(() => process.exit(0));
            send({ kind: 'listening', origin: started.origin });
          },
          (error: unknown) => {
            const exitCode = error instanceof UsageError ? 2 : 1;
            send({ kind: 'failed', message: errorMessage(error), exitCode }, () => process.exit(exitCode));
          },
        );
        return;
      }
      case 'stop':
        return stop();
      default: {
        const never: never = message;
        return never;
      }
    }
  });
  // A message sent before this module had loaded would have been dropped: the primary waits for this one.
  send({ kind: 'ready' });
}
