/** The parts of an OCI image config a Dockerfile sets, as buildah inspect shows them. */
export interface OciConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
}

const KNOWN = new Set([
  'User',
  'Env',
  'Entrypoint',
  'Cmd',
  'WorkingDir',
  'Labels',
  'ExposedPorts',
  'Volumes',
  'StopSignal',
]);

function envName(entry: string): string {
  const at = entry.indexOf('=');
  return at < 0 ? entry : entry.slice(0, at);
}

/**
 * `buildah config` flags that turn a working container of `from`'s config into `wanted`'s, with `labels` over
 * its labels; a reason when `wanted` holds something these flags cannot set (then nothing is to be made).
 */
export function configFlags(
  wanted: OciConfig,
  from: OciConfig,
  labels: Record<string, string>,
): { flags: string[] } | { unsupported: string } {
  const unknown = Object.keys(wanted).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) return { unsupported: `its config sets ${unknown.join(', ')}` };
  const flags: string[] = ['--user', wanted.User ?? '', '--workingdir', wanted.WorkingDir ?? ''];
  const env = wanted.Env ?? [];
  const kept = new Set(env.map(envName));
  for (const entry of from.Env ?? []) if (!kept.has(envName(entry))) flags.push('--env', `${envName(entry)}-`);
  for (const entry of env) flags.push('--env', entry);
  // An empty JSON list is how buildah config clears an entrypoint or command the working container inherited.
  flags.push('--entrypoint', JSON.stringify(wanted.Entrypoint ?? []), '--cmd', JSON.stringify(wanted.Cmd ?? []));
  if (wanted.StopSignal !== undefined) flags.push('--stop-signal', wanted.StopSignal);
  const wantedLabels = { ...(wanted.Labels ?? {}), ...labels };
  for (const key of Object.keys(from.Labels ?? {})) if (!(key in wantedLabels)) flags.push('--label', `${key}-`);
  for (const [key, value] of Object.entries(wantedLabels)) flags.push('--label', `${key}=${value}`);
  flags.push(...setFlags('--port', wanted.ExposedPorts, from.ExposedPorts));
  flags.push(...setFlags('--volume', wanted.Volumes, from.Volumes));
  return { flags };
}

/** Flags that add what `wanted` has and remove (`name-`) what only `from` has, of a set-like config field. */
function setFlags(
  flag: string,
  wanted?: Record<string, object> | null,
  from?: Record<string, object> | null,
): string[] {
  const names = Object.keys(wanted ?? {});
  const removed = Object.keys(from ?? {}).filter((name) => !names.includes(name));
  return [...removed.flatMap((name) => [flag, `${name}-`]), ...names.flatMap((name) => [flag, name])];
}
