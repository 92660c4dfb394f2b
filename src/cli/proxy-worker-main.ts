/**
 * One worker of `proxy serve --workers N`: loads the same config and secrets as the primary
 * (the credential never travels over the wire between them) and serves the shared socket.
 */
import { serveAsProxyWorker } from '../app/proxy.js';

serveAsProxyWorker();
