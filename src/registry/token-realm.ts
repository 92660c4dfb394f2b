export interface RealmRules {
  /** The registry's host: its own token service may receive the credential. */
  registryHost: string;
  /** Other hosts the operator allows (registry_token_hosts). */
  allowedHosts: readonly string[];
  /** Whether the token request carries the Basic credential; an anonymous one may go anywhere. */
  credential: boolean;
}

/**
 * Pure: why a Bearer challenge's realm may not be asked for a token, or undefined when it may.
 * The registry names the realm, so a registry that is not what it seems (or an answer changed
 * on a plain-HTTP path) could send the Basic credential anywhere. It goes to an http(s) URL
 * on the registry's own host (any port: token services often run beside the registry) or on
 * a host the operator listed, and never in clear to a host off loopback.
 */
export function realmRefusal(realm: string, rules: RealmRules): string | undefined {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return 'not an http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not an http(s) URL';
  if (!rules.credential) return undefined;
  const { registryHost, allowedHosts } = rules;
  const host = bareHost(url.hostname);
  const allowed = host === bareHost(registryHost) || allowedHosts.some((listed) => bareHost(listed) === host);
  if (!allowed) {
    const fix = `list ${host} in registry_token_hosts if it is the registry's token service`;
    return `on another host: the credential is not sent there (${fix})`;
  }
  if (url.protocol === 'http:' && !isLoopback(host)) {
    return 'plain HTTP to a host that is not loopback: the credential would travel in clear';
  }
  return undefined;
}

/** The host of `host[:port]`, `[v6]:port` or a bare name, lower-case and without brackets. */
export function hostOf(registry: string): string {
  try {
    return bareHost(new URL(`http://${registry}`).hostname);
  } catch {
    return bareHost(registry);
  }
}

function bareHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
