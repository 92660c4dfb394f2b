import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxWorkers, serveProxy } from '../../app/proxy.js';
import { parsePositiveInteger, type GlobalOptions } from '../options.js';
import { loadConfigFor } from '../workspace.js';

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
        await serveProxy({
          loaded: loadConfigFor(global),
          configChoice: global,
          listen: options.listen,
          listenUnsafe: options.listenUnsafe ?? false,
          cacheDir: options.cache === false ? null : options.cacheDir,
          waitSeconds: options.wait ? options.waitTimeout : undefined,
          workers: options.workers,
          accessLog: global.quiet ? 'off' : global.json ? 'json' : 'text',
          workerScript,
          onLogLine: (line) => process.stderr.write(`${line}\n`),
          onListening: (origin, upstream) =>
            process.stdout.write(
              global.json
                ? `${JSON.stringify({ listening: origin, upstream })}\n`
                : `listening on ${origin} -> ${upstream}\n`,
            ),
          signal,
        });
      }),
  );
  return proxy;
}
