/** What one proxy process takes on at most; every limit turns excess into a quick refusal. */
export interface ProxyLimits {
  /** Open client connections; more are closed as they arrive. */
  maxClientConnections: number;
  /** Header lines in one request; more get 431. */
  maxHeaderLines: number;
  /** Bytes of one request head (request line and headers); more get 431 from the HTTP parser. */
  maxHeaderBytes: number;
  /** Time for a whole request (its head: bodies are refused) to arrive; then 408. */
  requestTimeoutMs: number;
  /** Connections to the upstream. */
  upstreamSockets: number;
  /** Requests waiting for one of those connections; more get 503 with Retry-After. */
  upstreamQueue: number;
}

/**
 * Sized for builds: apt pipelines up to ten requests per connection and a build host runs
 * a few dozen package managers at once, far below these; a runaway client is not.
 */
export const PROXY_LIMITS: Readonly<ProxyLimits> = {
  maxClientConnections: 512,
  maxHeaderLines: 64,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 30_000,
  upstreamSockets: 64,
  upstreamQueue: 1024,
};

/** Seconds a client told 503 should wait before asking again. */
export const BUSY_RETRY_AFTER_SECONDS = 1;
