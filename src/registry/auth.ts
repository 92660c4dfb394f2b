import { isPlainObject } from '../util/plain-object.js';
import { MAX_JSON_BYTES, readJsonAnswer } from './answer-body.js';
import { parseChallenge } from './challenge.js';
import { RegistryAuthError, RegistryError, RegistryProtocolError } from './errors.js';
import { hostOf, realmRefusal } from './token-realm.js';
import { fetchWithRetry, type RequestTimeouts, type RetryPolicy } from './transport.js';

export interface RegistryCredentials {
  username: string;
  password: string;
  /**
   * Hosts besides the registry's own whose token service may receive them in answer to a
   * Bearer challenge (config registry_token_hosts), as Docker Hub's auth.docker.io.
   */
  tokenHosts?: readonly string[];
}

/** How the authenticator's own requests go: as the client's. */
export interface AuthTransport {
  /** host[:port] of the registry: its host may receive the credential. */
  registry: string;
  retry: RetryPolicy;
  timeouts: RequestTimeouts;
  signal: AbortSignal | undefined;
}

/** Token lifetime when the token server does not say (the distribution token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

type Scheme = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

/**
 * Answers a registry's challenges: Basic sends the credentials on every request; Bearer
 * fetches a token for the exact set of scopes a request needs (a blob mount needs two
 * repositories in one token) and keeps it until shortly before `expires_in`.
 */
export class RegistryAuthenticator {
  private scheme: Scheme = { kind: 'none' };
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  /** Token requests under way, so parallel requests for one scope set share one. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly credentials: RegistryCredentials | undefined,
    private readonly transport: AuthTransport,
  ) {}

  /** The Authorization header for these scopes, fetching a token first when the registry is known to want one. */
  async headersFor(scopes: readonly string[]): Promise<Record<string, string>> {
    const scheme = this.scheme;
    switch (scheme.kind) {
      case 'none':
        return {};
      case 'basic':
        return this.credentials ? { authorization: basicAuthorization(this.credentials) } : {};
      case 'bearer': {
        const key = tokenKey(scheme.realm, scheme.service, scopes);
        const cached = this.tokens.get(key);
        if (cached && cached.expires > Date.now()) return { authorization: `Bearer ${cached.token}` };
        let pending = this.pending.get(key);
        if (pending === undefined) {
          pending = this.fetchToken(scheme.realm, scheme.service, scopes).finally(() => this.pending.delete(key));
          this.pending.set(key, pending);
        }
        return { authorization: `Bearer ${await pending}` };
      }
      default: {
        const never: never = scheme;
        return never;
      }
    }
  }

  /** Learns the scheme from a 401's WWW-Authenticate; a stale token for these scopes is dropped. */
  answerChallenge(header: string | null, scopes: readonly string[]): void {
    const challenge = parseChallenge(header ?? '');
    if (challenge?.scheme === 'basic') {
      if (!this.credentials) throw new RegistryAuthError(401, 'the registry wants credentials and none are configured');
      this.scheme = { kind: 'basic' };
      return;
    }
    const realm = challenge?.params.realm;
    if (challenge?.scheme !== 'bearer' || !realm) {
      throw new RegistryAuthError(401, 'the registry answered 401 without a usable challenge');
    }
    const { registry } = this.transport;
    const refusal = realmRefusal(realm, {
      registryHost: hostOf(registry),
      allowedHosts: this.credentials?.tokenHosts ?? [],
      credential: this.credentials !== undefined,
    });
    if (refusal !== undefined) {
      throw new RegistryAuthError(401, `registry ${registry} sends its token requests to ${shown(realm)}, ${refusal}`);
    }
    this.scheme = { kind: 'bearer', realm, service: challenge.params.service };
    this.tokens.delete(tokenKey(realm, challenge.params.service, scopes));
  }

  private async fetchToken(realm: string, service: string | undefined, scopes: readonly string[]): Promise<string> {
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const where = `token request to ${url.origin}${url.pathname}`;
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = basicAuthorization(this.credentials);
    const { retry, timeouts, signal } = this.transport;
    const init: RequestInit = { headers, ...(signal ? { signal } : {}) };
    const response = await fetchWithRetry(url.toString(), init, retry, timeouts.answerMs);
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      const refused = this.credentials ? 'the credentials' : 'an anonymous request';
      const message = `${where}: the token server refused ${refused} (HTTP ${response.status})`;
      throw new RegistryAuthError(response.status, message);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryError(response.status, `${where}: HTTP ${response.status}`);
    }
    const answer = await readJsonAnswer(response, { maxBytes: MAX_JSON_BYTES, idleMs: timeouts.idleMs, what: where });
    const body = isPlainObject(answer) ? answer : {};
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryProtocolError(response.status, `${where}: the answer holds neither token nor access_token`);
    }
    const expiresIn = body.expires_in;
    const seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_SECONDS;
    // Renew a little early so a token never expires between the cache look-up and the registry's check.
    const margin = Math.min(5000, seconds * 100);
    this.tokens.set(tokenKey(realm, service, scopes), { token, expires: Date.now() + seconds * 1000 - margin });
    return token;
  }
}

/** A realm for messages: its origin and path, never a query. */
function shown(realm: string): string {
  try {
    const url = new URL(realm);
    return `${url.origin}${url.pathname}`;
  } catch {
    return JSON.stringify(realm.slice(0, 100));
  }
}

export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function tokenKey(realm: string, service: string | undefined, scopes: readonly string[]): string {
  return JSON.stringify([realm, service ?? '', [...new Set(scopes)].sort()]);
}
