import { parseChallenge } from './challenge.js';

export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageManifest {
  mediaType?: string;
  config: { digest: string; mediaType: string; size: number };
  layers: Array<{ digest: string; mediaType: string; size: number }>;
}

export interface ImageConfig {
  config?: { Labels?: Record<string, string> | null };
  history?: Array<{ created_by?: string }>;
}

/**
 * A small OCI distribution client: answers Basic and Bearer challenges (tokens cached
 * per scope), reads manifests, configs and tag lists. Never logs or returns credentials.
 */
export class RegistryClient {
  private readonly base: string;
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private basicOnly = false;

  constructor(
    registry: string,
    private readonly credentials?: RegistryCredentials,
    options: { insecure?: boolean } = {},
  ) {
    this.base = `${options.insecure ? 'http' : 'https'}://${registry}`;
  }

  async ping(): Promise<void> {
    await this.request('/v2/', 'registry:catalog:*');
  }

  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=100`;
    while (path !== undefined) {
      const response = await this.request(path, `repository:${repository}:pull`);
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      path = nextLink(response.headers.get('link'));
    }
    return tags;
  }

  /** undefined when the manifest does not exist. */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const response = await this.request(`/v2/${repository}/manifests/${reference}`, `repository:${repository}:pull`, { method: 'HEAD', headers: { accept: MANIFEST_MEDIA_TYPES } }, [404]);
    if (response.status === 404) return undefined;
    return {
      digest: response.headers.get('docker-content-digest') ?? '',
      mediaType: response.headers.get('content-type') ?? '',
      size: Number(response.headers.get('content-length') ?? 0),
    };
  }

  async getManifest(repository: string, reference: string): Promise<ImageManifest> {
    const response = await this.request(`/v2/${repository}/manifests/${reference}`, `repository:${repository}:pull`, { headers: { accept: MANIFEST_MEDIA_TYPES } });
    return (await response.json()) as ImageManifest;
  }

  async getImageConfig(repository: string, reference: string): Promise<ImageConfig> {
    const manifest = await this.getManifest(repository, reference);
    const response = await this.request(`/v2/${repository}/blobs/${manifest.config.digest}`, `repository:${repository}:pull`);
    return (await response.json()) as ImageConfig;
  }

  private async request(path: string, scope: string, init: RequestInit = {}, allowedStatuses: number[] = []): Promise<Response> {
    const url = `${this.base}${path}`;
    let response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...this.authorization(scope) }, redirect: 'follow' });
    if (response.status === 401) {
      await response.body?.cancel();
      await this.answerChallenge(response.headers.get('www-authenticate') ?? '', scope);
      response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...this.authorization(scope) }, redirect: 'follow' });
    }
    if (!response.ok && !allowedStatuses.includes(response.status)) {
      await response.body?.cancel();
      throw new RegistryError(response.status, `${init.method ?? 'GET'} ${path}: HTTP ${response.status}`);
    }
    return response;
  }

  private authorization(scope: string): Record<string, string> {
    const cached = this.tokens.get(scope);
    if (cached && cached.expires > Date.now()) return { authorization: `Bearer ${cached.token}` };
    if (this.basicOnly && this.credentials) return { authorization: basic(this.credentials) };
    return {};
  }

  private async answerChallenge(header: string, scope: string): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === 'basic') {
      if (!this.credentials) throw new RegistryError(401, 'the registry wants credentials and none are configured');
      this.basicOnly = true;
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw new RegistryError(401, 'the registry answered 401 without a usable challenge');
    const tokenUrl = new URL(challenge.params.realm);
    if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
    tokenUrl.searchParams.append('scope', scope);
    const response = await fetch(tokenUrl, { headers: this.credentials ? { authorization: basic(this.credentials) } : {} });
    if (!response.ok) throw new RegistryError(response.status, `token request to ${tokenUrl.origin}${tokenUrl.pathname}: HTTP ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(500, 'the token server answered without a token');
    this.tokens.set(scope, { token, expires: Date.now() + (body.expires_in ?? 60) * 1000 - 5000 });
  }
}

function basic(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** The path and query of a `Link: <…>; rel="next"` header (registries may put their own host in it). */
function nextLink(header: string | null): string | undefined {
  const match = header?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!match?.[1]) return undefined;
  const url = new URL(match[1], 'http://placeholder');
  return `${url.pathname}${url.search}`;
}
