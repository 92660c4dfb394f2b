import type { OsRelease } from './types.js';

/**
 * The point release when the image names one finer than VERSION_ID: Debian keeps it in
 * /etc/debian_version (`12.8`; `trixie/sid` on testing, which is none), Ubuntu in VERSION (`22.04.4 LTS`).
 */
function pointRelease(versionId: string, version: string, debianVersion: string | undefined): string | undefined {
  const candidates = [debianVersion?.trim() ?? '', /^\S+/.exec(version)?.[0] ?? ''];
  return candidates.find((text) => /^\d+(\.\d+)+$/.test(text) && text.startsWith(`${versionId}.`));
}

/** os-release(5): KEY=value lines, values optionally quoted; `debianVersion` is /etc/debian_version when present. */
export function parseOsRelease(text: string, debianVersion?: string): OsRelease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) values.set(match[1], (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2'));
  }
  const versionId = values.get('VERSION_ID') ?? '';
  const point = pointRelease(versionId, values.get('VERSION') ?? '', debianVersion);
  return {
    id: values.get('ID') ?? '',
    versionId,
    codename: values.get('VERSION_CODENAME') ?? '',
    prettyName: values.get('PRETTY_NAME') ?? '',
    ...(point ? { pointRelease: point } : {}),
  };
}
