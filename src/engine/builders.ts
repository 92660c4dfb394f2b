import { redactUrlPasswords } from '../util/url-login.js';
import { fail, ok, type Result } from '../util/result.js';
import { DockerEngine } from './docker.js';
import { createEngine, dockerCommand } from './index.js';
import { PodmanEngine } from './podman.js';
import type { Engine, EngineName } from './types.js';

/** One engine a run builds on, with the images it may build at once. */
export interface Builder {
  /** How the summary and the views name it: its URL (any password left out), or `local`. */
  name: string;
  engine: Engine;
  slots: number;
}

/** A builder as the config or `--builders` describes it. */
export interface BuilderSpec {
  /** `local` (the engine as the run would use it alone) or a `unix://`, `tcp://` or `ssh://` URL. */
  url: string;
  engine: EngineName;
  slots: number;
}

export const LOCAL_BUILDER = 'local';
const ENGINE_URL = /^(unix|tcp|ssh):\/\/\S+$/;
const ENGINE_PREFIX = /^(buildah|docker|podman)\+/;

/**
 * `--builders` entries: `[ENGINE+]URL[#SLOTS]`, URL being `local` or a `unix://`, `tcp://` or `ssh://`
 * address; the engine defaults to the run's, the slots to its threads. Returns one line of what is wrong.
 */
export function parseBuilderList(
  entries: readonly string[],
  defaults: { engine: EngineName; slots: number },
): Result<BuilderSpec[], string> {
  const specs: BuilderSpec[] = [];
  for (const entry of entries) {
    const match = /^(.*?)(?:#(\d+))?$/.exec(entry.trim());
    let url = match?.[1] ?? '';
    const slots = match?.[2] === undefined ? defaults.slots : Number(match[2]);
    const prefix = ENGINE_PREFIX.exec(url);
    const engine = (prefix?.[1] as EngineName | undefined) ?? defaults.engine;
    if (prefix) url = url.slice(prefix[0].length);
    if (slots < 1 || slots > 64) return fail(`builder ${JSON.stringify(shown(entry))}: slots must be 1 to 64`);
    specs.push({ url, engine, slots });
  }
  const checked = checkBuilders(specs);
  return checked.ok ? ok(specs) : checked;
}

/** Bad builders in one line: unknown addresses, remote buildah, mixed engines, a builder given twice. */
export function checkBuilders(specs: readonly BuilderSpec[]): Result<void, string> {
  const names = new Set<string>();
  for (const spec of specs) {
    const name = builderName(spec);
    if (spec.url !== LOCAL_BUILDER && !ENGINE_URL.test(spec.url))
      return fail(`builder ${JSON.stringify(name)}: expected local, unix:///path, tcp://host:port or ssh://user@host`);
    if (spec.engine === 'buildah' && spec.url !== LOCAL_BUILDER)
      return fail(
        `builder ${JSON.stringify(name)}: buildah has no remote service (only local can be a buildah builder); ` +
          'name the engine: --engine docker|podman, or docker+URL / podman+URL',
      );
    if (names.has(name)) return fail(`builder ${JSON.stringify(name)} is given twice`);
    names.add(name);
  }
  const engines = new Set(specs.map((spec) => spec.engine));
  // The engine is part of every image's input digest: one run, one engine kind.
  if (engines.size > 1) return fail(`the builders of a run use one engine, not ${[...engines].join(' and ')}`);
  return ok(undefined);
}

/** The builder's name: never a password (an ssh:// URL may carry one). */
export function builderName(spec: Pick<BuilderSpec, 'url'>): string {
  return shown(spec.url);
}

/** The engine adapter a builder speaks through: the docker CLI with DOCKER_HOST, podman with --url. */
export function createBuilder(spec: BuilderSpec, local: { engineUrl?: string } = {}): Builder {
  const name = builderName(spec);
  if (spec.url === LOCAL_BUILDER) {
    return { name, slots: spec.slots, engine: createEngine(spec.engine, { url: local.engineUrl }) };
  }
  switch (spec.engine) {
    case 'docker':
      return {
        name,
        slots: spec.slots,
        engine: new DockerEngine(dockerCommand(), { ...process.env, DOCKER_HOST: spec.url }),
      };
    case 'podman':
      return { name, slots: spec.slots, engine: new PodmanEngine('podman', spec.url) };
    case 'buildah':
      throw new Error(`internal: buildah builder ${name} is not local`);
    default: {
      const never: never = spec.engine;
      return never;
    }
  }
}

function shown(text: string): string {
  return redactUrlPasswords(text);
}
