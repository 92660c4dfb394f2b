import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { loadConfigFor } from '../workspace.js';
import { loadSecrets } from '../../config/secrets.js';
import { proxyFromConfig } from '../../proxy/from-config.js';
import { parseListenAddress } from '../../proxy/listen.js';
import { formatAccessLog } from '../../proxy/server.js';
import { parsePositiveInteger, type GlobalOptions } from '../options.js';

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
      .addHelpText(
        'after',
        '\nThe first line on stdout is "listening on <origin>". Access log lines go to stderr (never the credential).',
      )
      .action(async (options) => {
        const global = globals();
        const loaded = loadConfigFor(global);
        const listen = parseListenAddress(options.listen, options.listenUnsafe ?? false);
        const server = proxyFromConfig(loaded, loadSecrets(loaded.secretsFile, loaded.readYaml), {
          listen,
          cacheDir: options.cache === false ? null : options.cacheDir,
          onAccess: global.quiet
            ? undefined
            : (entry) => process.stderr.write(`${global.json ? JSON.stringify(entry) : formatAccessLog(entry)}\n`),
        });
        const origin = await server.start();
        try {
          if (options.wait) await server.waitForUpstream(options.waitTimeout * 1000);
          process.stdout.write(
            global.json
              ? `${JSON.stringify({ listening: origin, upstream: loaded.config.pulp?.url })}\n`
              : `listening on ${origin} -> ${loaded.config.pulp?.url}\n`,
          );
          await new Promise<void>((resolve) =>
            signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
          );
        } finally {
          await server.stop();
        }
      }),
  );
  return proxy;
}
