/**
 * One worker of `proxy serve --workers N`: loads the same config and secrets as the primary
 * (the credential never travels over the wire between them) and serves the shared socket.
 */
import { loadConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { proxyFromConfig } from '../proxy/from-config.js';
import { formatAccessLog } from '../proxy/server.js';
import { runProxyWorker } from '../proxy/workers.js';
import type { ProxyWorkerRequest } from './commands/proxy.js';

runProxyWorker<ProxyWorkerRequest>(
  async (request, output) => {
    const { globals } = request;
    // The primary already printed the config's warnings.
    const loaded = loadConfig({
      configDir: globals.config,
      environment: globals.environment,
      vaultPasswordFile: globals.vaultPasswordFile,
    });
    const { access } = output;
    const json = request.accessLog === 'json';
    const proxy = proxyFromConfig(loaded, loadSecrets(loaded.secretsFile, loaded.readYaml), {
      listen: request.listen,
      cacheDir: request.cacheDir,
      onAccess: access && ((entry) => access(json ? JSON.stringify(entry) : formatAccessLog(entry))),
      onWarning: output.warning,
    });
    const origin = await proxy.start();
    return { origin, stop: () => proxy.stop() };
  },
  (request) => request.accessLog !== 'off',
);
