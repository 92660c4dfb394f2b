import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFor } from '../workspace.js';
import { loadSecrets } from '../../config/secrets.js';
import { proxyFromConfig } from '../../proxy/from-config.js';
import { parseListenAddress, withFixedPort, type ListenAddress } from '../../proxy/listen.js';
import { formatAccessLog } from '../../proxy/server.js';
import { maxWorkers, WorkerPool, WORKERS_PER_CORE } from '../../proxy/workers.js';
import { UsageError } from '../../util/errors.js';
import { parsePositiveInteger, type GlobalOptions } from '../options.js';

/** What a worker of `proxy serve --workers N` is told: it loads config and secrets itself. */
export interface ProxyWorkerRequest {
  globals: GlobalOptions;
  listen: ListenAddress;
  /** null: no cache; undefined: the config's. */
  cacheDir: string | null | undefined;
  accessLog: 'text' | 'json' | 'off';
}

/** The worker entry next to this file's folder, compiled or not (the tests run the sources). */
const workerScript = fileURLToPath(
  new URL(`../proxy-worker-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

export function proxyCommand(globals: () => GlobalOptions, signal: AbortSignal): CommandUnknownOpts {
  const proxy = new Command('proxy').description('The authenticating proxy in front of Pulp');
  proxy.addCommand(
    new Command('serve')
      .description('Serve Pulp content on loopback with the credential added; runs until SIGINT or SIGTERM')
      .option(
        '--listen <host:port>',
        'address to listen on (default 127.0.0.1 and a free port, printed on start)',
        '127.0.0.1:',
      )
      .option('--listen-unsafe', 'allow a non-loopback address: anyone who reaches it reads Pulp as you')
      .option('--cache-dir <dir>', 'keep pinned snapshot content here (default: proxy.cache_dir from the config)')
      .option('--no-cache', 'do not cache content')
      .option('--wait', "wait until Pulp's status endpoint answers before saying ready")
      .option('--wait-timeout <seconds>', 'how long --wait waits', parsePositiveInteger, 60)
      .option(
        '--workers <n>',
        `processes serving the one listening socket (default: the number of cores, ${availableParallelism()} here; at most ${maxWorkers()})`,
        parsePositiveInteger,
      )
      .addHelpText(
        'after',
        [
          '',
          'The first line on stdout is "listening on <origin>". Access log lines go to stderr (never the credential).',
          'With more than one worker, the first process only supervises: it hands connections to the workers in turn,',
          'writes their access log, replaces a worker that dies (said on stderr) and exits 1 with one line if workers',
          'keep dying (5 within a minute). SIGINT or SIGTERM stops every worker. --workers 1 serves in one process.',
          'With a free port (the default), the port is chosen once, so a replacement worker takes the same one.',
        ].join('\n'),
      )
      .action(async (options) => {
        const global = globals();
        const workers = workerCount(options.workers);
        const loaded = loadConfigFor(global);
        const listen = parseListenAddress(options.listen, options.listenUnsafe ?? false);
        const cacheDir = options.cache === false ? null : options.cacheDir;
        const accessLog = global.quiet ? 'off' : global.json ? 'json' : 'text';
        const server = proxyFromConfig(loaded, loadSecrets(loaded.secretsFile, loaded.readYaml), {
          listen,
          cacheDir,
          onAccess:
            accessLog === 'off'
              ? undefined
              : (entry) =>
                  process.stderr.write(`${accessLog === 'json' ? JSON.stringify(entry) : formatAccessLog(entry)}\n`),
        });
        // With workers, this process's proxy never listens: it checked the config and waits for Pulp.
        const pool =
          workers === 1
            ? undefined
            : new WorkerPool<ProxyWorkerRequest>({
                count: workers,
                script: workerScript,
                request: { globals: global, listen: await withFixedPort(listen), cacheDir, accessLog },
                onLog: (text) => process.stderr.write(text),
                onWarning: warnOncePerLine(),
              });
        const origin = pool ? await pool.start(signal) : await server.start();
        const stopped = new Promise<void>((resolve) =>
          signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        try {
          // Interrupted while the workers started: they are stopped already, and nothing was ready.
          if (origin === undefined) return;
          const waited = options.wait ? server.waitForUpstream(options.waitTimeout * 1000, signal) : Promise.resolve();
          await (pool ? Promise.race([waited, pool.failed]) : waited);
          if (signal.aborted) return;
          process.stdout.write(
            global.json
              ? `${JSON.stringify({ listening: origin, upstream: loaded.config.pulp?.url })}\n`
              : `listening on ${origin} -> ${loaded.config.pulp?.url}\n`,
          );
          await (pool ? Promise.race([stopped, pool.failed]) : stopped);
        } finally {
          await pool?.stop();
          await server.stop();
        }
      }),
  );
  return proxy;
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
function warnOncePerLine(): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (said.has(line)) return;
    said.add(line);
    process.stderr.write(`${line}\n`);
  };
}
