import { join, resolve } from 'node:path';
import {
  dependencyJson,
  dependencyText,
  kollaDependencyListing,
  kollaImageListing,
  selectedRoots,
} from '../catalog/dependency-tree.js';
import type { Catalog } from '../catalog/types.js';
import { selectImages, type Selection } from '../catalog/select.js';
import { chosenRegexes } from '../catalog/sets.js';
import { chosenDistros } from '../config/distros.js';
import type { LoadedConfig } from '../config/load.js';
import { loadSecrets } from '../config/secrets.js';
import { createEngine } from '../engine/index.js';
import type { Engine } from '../engine/types.js';
import { imageReference, isValidTag, runTag } from '../plan/naming.js';
import { writePlanContexts, type UnwrittenImage } from '../plan/write-contexts.js';
import { smokeTestImage, type SmokeResult } from '../smoke/smoke-test.js';
import { isLoopbackRegistry, writeRegistryAuth, type RegistryAuth } from '../run/registry-auth.js';
import { UsageError } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import { checkOutputDir } from '../util/output-path.js';
import { renderOnlyPlan, type Workspace } from './workspace.js';

/** Which images a command looks at: regexes and sets (parents come along), for which distros. */
export interface ImageChoice {
  workspace: Workspace;
  regexes: readonly string[];
  sets: readonly string[];
  distros?: readonly string[];
  skipParents?: boolean;
}

/** The selection for the first distro asked for (its unbuildable list applies). */
export function chooseImages(choice: ImageChoice): Selection {
  const { config } = choice.workspace.loaded;
  const [distro = ''] = chosenDistros(config, choice.distros);
  return selectImages(choice.workspace.catalog, {
    regexes: chosenRegexes(config.sets, choice.regexes, choice.sets),
    unbuildable: config.distros[distro]?.unbuildable ?? [],
    skipParents: choice.skipParents ?? false,
  });
}

export interface RenderRequest extends ImageChoice {
  out: string;
  tag?: string;
}

/** What `images render` wrote for one distro. */
export interface RenderedDistro {
  distro: string;
  outDir: string;
  written: number;
  unwritten: UnwrittenImage[];
}

/** Every selected image's Dockerfile and build context into `<out>/<image>/` (`<out>/<distro>/<image>/` for several distros). */
export async function renderImages(request: RenderRequest): Promise<RenderedDistro[]> {
  checkOutputDir(request.out, '--out');
  const { loaded, catalog } = request.workspace;
  const distros = chosenDistros(loaded.config, request.distros);
  if (request.tag !== undefined && !isValidTag(request.tag))
    throw new UsageError(`invalid --tag ${JSON.stringify(request.tag)}`);
  const regexes = chosenRegexes(loaded.config.sets, request.regexes, request.sets);
  const now = new Date();
  const rendered: RenderedDistro[] = [];
  for (const distro of distros) {
    // Over a Kolla checkout a render is tagged as that release's kolla-build tags it.
    const tag =
      request.tag ??
      loaded.kolla?.rules.defaultTag(distro) ??
      runTag(loaded.config.release, distro, loaded.config.distros[distro]?.version ?? '', now);
    const selection = { regexes, skipParents: request.skipParents ?? false };
    const plan = await renderOnlyPlan(loaded, catalog, distro, tag, selection);
    const outDir = distros.length > 1 ? join(resolve(request.out), distro) : resolve(request.out);
    const unwritten = await writePlanContexts(plan, outDir, (image) => image.name);
    rendered.push({ distro, outDir, written: plan.images.length - unwritten.length, unwritten });
  }
  return rendered;
}

/** Each selected image's smoke checks, on the configured engine, at one tag. */
export async function testImages(
  request: ImageChoice & { tag: string },
  onResult: (result: SmokeResult) => void,
): Promise<SmokeResult[]> {
  const { loaded } = request.workspace;
  const selection = chooseImages(request);
  const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
  const results: SmokeResult[] = [];
  const pulls = new RegistryPulls(loaded);
  try {
    for (const name of selection.selected) {
      const reference = imageReference(loaded.config, name, request.tag);
      const pulled = await pulls.ensure(engine, reference);
      const result = pulled.ok
        ? await smokeTestImage(engine, name, reference)
        : {
            image: name,
            reference,
            checks: [{ check: 'service' as const, status: 'fail' as const, detail: pulled.failure }],
          };
      results.push(result);
      onResult(result);
    }
  } finally {
    await pulls.dispose();
  }
  return results;
}

/**
 * An image the engine lacks but the configured registry has (a respin composed it there, respin.compose
 * registry) is pulled for its checks, with the registry login of the secrets file where there is one.
 */
class RegistryPulls {
  private auth: Promise<RegistryAuth | undefined> | undefined;

  constructor(private readonly loaded: LoadedConfig) {}

  async ensure(engine: Engine, reference: string): Promise<Result<void, string>> {
    const { registry } = this.loaded.config;
    if (registry === '' || !reference.startsWith(`${registry}/`)) return ok(undefined);
    const exists = await engine.exists(reference);
    if (!exists.ok || exists.value) return ok(undefined);
    const auth = await (this.auth ??= this.login());
    const pulled = await engine.pull({
      reference,
      insecure: this.loaded.config.registry_insecure ?? isLoopbackRegistry(registry),
      onLine: () => undefined,
      signal: new AbortController().signal,
      ...(auth ? { authFile: auth.file } : {}),
    });
    return pulled.ok
      ? ok(undefined)
      : fail(`not in the engine, nor pulled from ${registry}: ${pulled.failure.message}`);
  }

  async dispose(): Promise<void> {
    await (await this.auth)?.dispose();
  }

  /** The secrets' registry login as an engine auth file; none (an anonymous pull) where there is none. */
  private async login(): Promise<RegistryAuth | undefined> {
    const { registry, registry_token_hosts: tokenHosts } = this.loaded.config;
    const secrets = loadSecrets(this.loaded.secretsFile, this.loaded.readYaml);
    const { registry_username: username, registry_password: password } = secrets;
    return username && password ? writeRegistryAuth(registry, username, password, tokenHosts) : undefined;
  }
}

/** How `images list` and `images deps` print: one name a line, JSON, or kolla-build's own listing. */
export type ListingFormat = 'plain' | 'json' | 'kolla';

/** The selected images, parents before children, as `images list` prints them. */
export function imageListing(catalog: Catalog, selected: readonly string[], format: ListingFormat): string {
  switch (format) {
    case 'kolla':
      return kollaImageListing(selected);
    case 'plain':
      return selected.map((name) => `${name}\n`).join('');
    case 'json': {
      const rows = selected.map((name) => ({
        name,
        parent: catalog.images.get(name)?.parent ?? null,
        dir: catalog.images.get(name)?.dir,
      }));
      return `${JSON.stringify(rows, null, 2)}\n`;
    }
    default: {
      const never: never = format;
      return never;
    }
  }
}

/** The selected images as dependency trees, as `images deps` prints them. */
export function dependencyListing(catalog: Catalog, selected: readonly string[], format: ListingFormat): string {
  const chosen = new Set(selected);
  const roots = selectedRoots(catalog, selected);
  switch (format) {
    case 'kolla':
      return kollaDependencyListing(catalog, selected);
    case 'json':
      return `${JSON.stringify(
        roots.map((root) => dependencyJson(catalog, root, chosen)),
        null,
        2,
      )}\n`;
    case 'plain':
      return roots.map((root) => dependencyText(catalog, root, chosen)).join('');
    default: {
      const never: never = format;
      return never;
    }
  }
}
