import type { OsRelease } from './types.js';

/** os-release(5): KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): OsRelease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) values.set(match[1], (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2'));
  }
  return {
    id: values.get('ID') ?? '',
    versionId: values.get('VERSION_ID') ?? '',
    codename: values.get('VERSION_CODENAME') ?? '',
    prettyName: values.get('PRETTY_NAME') ?? '',
  };
}
