import type { PlainObject } from '../util/plain-object.js';

/** Scalar keys that environment variables and flags may set, with their parsers. */
const overridable = {
  release: 'string',
  registry: 'string',
  namespace: 'string',
  engine: 'string',
  threads: 'integer',
  push_threads: 'integer',
  retries: 'integer',
  shard_wait: 'integer',
} as const;

export type OverridableKey = keyof typeof overridable;
export type Overrides = Partial<Record<OverridableKey, string | number>>;

export const environmentVariableFor = (key: OverridableKey): string => `CI_BUILDER_${key.toUpperCase()}`;

/** Reads CI_BUILDER_<KEY> variables; numbers stay strings when malformed so validation names them. */
export function overridesFromEnvironment(env: NodeJS.ProcessEnv): Array<{ origin: string; values: PlainObject }> {
  const layers: Array<{ origin: string; values: PlainObject }> = [];
  for (const [key, kind] of Object.entries(overridable) as Array<[OverridableKey, string]>) {
    const name = environmentVariableFor(key);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    layers.push({ origin: `environment variable ${name}`, values: { [key]: parseScalar(raw, kind) } });
  }
  return layers;
}

export function overridesFromFlags(flags: Overrides): Array<{ origin: string; values: PlainObject }> {
  return (Object.entries(flags) as Array<[OverridableKey, string | number | undefined]>)
    .filter((entry): entry is [OverridableKey, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ({ origin: `--${key.replace('_', '-')}`, values: { [key]: value } }));
}

function parseScalar(raw: string, kind: string): string | number {
  if (kind === 'integer' && /^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}
