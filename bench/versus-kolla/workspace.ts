/**
 * One folder per tool of the versus-kolla bench, each with its own copy of the image tree, so a scenario's
 * change is made to every tool's tree alike and no tool reuses what another built.
 *
 * kolla-build reads its image tree from inside its package (`kolla/docker/`, `docker/` on older branches)
 * and `--docker-dir` only copies more folders over that tree (Kolla's own images and macros.j2 would stay,
 * or be overwritten half-way), so kolla-build gets a copy of the checkout whose tree folder is ours.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';

export type Tool = 'kolla-build' | 'docker' | 'buildah' | 'podman';
export const TOOLS: readonly Tool[] = ['kolla-build', 'docker', 'buildah', 'podman'];
/** ci-builder's engines the bench runs it with. */
export type EngineTool = Exclude<Tool, 'kolla-build'>;
export const ENGINE_TOOLS: readonly EngineTool[] = ['docker', 'buildah', 'podman'];

export interface Workspace {
  tool: Tool;
  dir: string;
  /** The image tree this tool builds (edited by the scenarios). */
  tree: string;
}

export interface KollaWorkspace extends Workspace {
  tool: 'kolla-build';
  checkout: string;
  configFile: string;
  /** Gives kolla-build the one template value of our tree it does not have itself. */
  templateOverride: string;
}

export const PBR_VERSION = process.env.PBR_VERSION ?? '22.0.0';

/** The tree folder inside a Kolla checkout: `kolla/docker/` on master, `docker/` up to 2026.1. */
function kollaTreeFolder(checkout: string): string {
  const inPackage = join(checkout, 'kolla/docker');
  if (existsSync(inPackage)) return inPackage;
  const atRoot = join(checkout, 'docker');
  if (existsSync(atRoot)) return atRoot;
  throw new Error(`${checkout} has neither kolla/docker nor docker: not a Kolla checkout`);
}

/**
 * Kolla's default source sections for images of our tree, with their `-plugin-` and `-additions-`
 * sections: kolla-build downloads every one of them for the image, whatever its Dockerfile uses.
 */
function sourceSectionsOf(checkout: string, images: readonly string[]): string[] {
  const program = 'import json\nfrom kolla.common.sources import SOURCES\nprint(json.dumps(sorted(SOURCES)))\n';
  const ran = spawnSync('/usr/bin/python3', ['-c', program], {
    cwd: checkout,
    encoding: 'utf8',
    env: { ...process.env, PBR_VERSION },
  });
  if (ran.status !== 0) throw new Error(`reading ${checkout}'s source table failed: ${ran.stderr.trim()}`);
  const sections = JSON.parse(ran.stdout) as string[];
  return sections.filter((section) =>
    images.some(
      (image) =>
        section === image || section.startsWith(`${image}-plugin-`) || section.startsWith(`${image}-additions-`),
    ),
  );
}

export function createKollaWorkspace(dir: string, checkout: string, images: string, release: string): KollaWorkspace {
  const copy = join(dir, 'kolla');
  cpSync(checkout, copy, { recursive: true, filter: (path) => basename(path) !== '.git' });
  const tree = kollaTreeFolder(copy);
  rmSync(tree, { recursive: true, force: true });
  cpSync(images, tree, { recursive: true });
  // Sources the tree's images do not use, but kolla-build archives whatever its table names: a local folder.
  const emptySource = join(dir, 'empty-source');
  mkdirSync(emptySource, { recursive: true });
  writeFileSync(join(emptySource, 'README'), 'kolla-build archives this folder; the images do not use it\n');
  const sections = sourceSectionsOf(copy, imageNames(tree)).map(
    (name) => `[${name}]\ntype = local\nlocation = ${emptySource}\n`,
  );
  const configFile = join(dir, 'kolla-build.conf');
  writeFileSync(configFile, ['[DEFAULT]\nmaintainer = ci-builder\nnetwork_mode = host\n', ...sections].join('\n'));
  // Our macros label images with `release`, a value ci-builder gives templates and kolla-build does not.
  const templateOverride = join(dir, 'template-override.j2');
  writeFileSync(templateOverride, `{% extends parent_template %}\n{% set release = ${JSON.stringify(release)} %}\n`);
  return { tool: 'kolla-build', dir, tree, checkout: copy, configFile, templateOverride };
}

/** ci-builder's example configuration, with this tool's engine, tree and the bench's registry; no secrets. */
export function createCiBuilderWorkspace(
  dir: string,
  tool: EngineTool,
  images: string,
  exampleConfig: string,
  registry: string,
): Workspace {
  const tree = join(dir, 'images');
  cpSync(images, tree, { recursive: true });
  const config = readFileSync(exampleConfig, 'utf8')
    .replace(/^engine: .*$/m, `engine: ${tool}`)
    .replace(/^registry: .*$/m, `registry: "${registry}"`)
    .replace(/^secrets: .*\n/m, '')
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${tree}`);
  if (!config.includes(`  - ${tree}`)) throw new Error(`${exampleConfig}: no images_dirs entry to point at the tree`);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  // Its own package cache, so a scenario can start it empty (cold) or keep it warm (base changed).
  writeFileSync(join(dir, 'etc/config.yml'), `${config}\nproxy:\n  cache_dir: ${packageCacheOf(dir)}\n`);
  return { tool, dir, tree };
}

function packageCacheOf(dir: string): string {
  return join(dir, 'package-cache');
}

/** Empties a ci-builder workspace's package cache: the next build downloads every package from the mirror. */
export function emptyPackageCache(workspace: Workspace): void {
  if (workspace.tool === 'kolla-build') return;
  rmSync(packageCacheOf(workspace.dir), { recursive: true, force: true });
}

/** The example configuration's release: what templates get as `release`. */
export function configuredRelease(exampleConfig: string): string {
  const { release } = parse(readFileSync(exampleConfig, 'utf8')) as { release?: unknown };
  if (typeof release !== 'string') throw new Error(`${exampleConfig}: no release`);
  return release;
}

/** The regexes of the example configuration's enabled set entries, in order. */
export function setRegexes(exampleConfig: string, sets: readonly string[]): string[] {
  const config = parse(readFileSync(exampleConfig, 'utf8')) as {
    sets?: Record<string, Array<{ regex: string; enabled: boolean }>>;
  };
  return sets.flatMap((name) => {
    const entries = config.sets?.[name];
    if (entries === undefined) throw new Error(`${exampleConfig}: no set ${name}`);
    return entries.filter((entry) => entry.enabled).map((entry) => entry.regex);
  });
}

/** Every image template of a tree (any depth): image name → its Dockerfile.j2. */
function imageTemplates(tree: string): Map<string, string> {
  const found = spawnSync('find', [tree, '-name', 'Dockerfile.j2'], { encoding: 'utf8' });
  const paths = found.stdout.split('\n').filter((line) => line !== '');
  return new Map(paths.map((path) => [basename(path.slice(0, -'/Dockerfile.j2'.length)), path]));
}

export function imageNames(tree: string): string[] {
  return [...imageTemplates(tree).keys()];
}

function edit(file: string, change: (text: string) => string): void {
  const before = readFileSync(file, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`${file}: the bench's edit changed nothing`);
  writeFileSync(file, after);
}

const BENCH_MARKER = /^RUN echo .* > \/etc\/ci-builder-bench-run$/m;

/**
 * Sets a marker step early in the base image's template: a new value is a change to `base` that every image
 * inherits, so nothing built before (by any tool, in any engine, in any layer cache) can be reused. A step,
 * not a label: BuildKit keeps labels out of its cache keys, so a new label would still reuse every step.
 */
export function setBenchMarker(tree: string, value: string): void {
  const line = `RUN echo "${value}" > /etc/ci-builder-bench-run`;
  edit(join(tree, 'base/Dockerfile.j2'), (text) =>
    BENCH_MARKER.test(text)
      ? text.replace(BENCH_MARKER, line)
      : text.replace('{{ macros.image_labels() }}', `{{ macros.image_labels() }}\n${line}`),
  );
}

/** A harmless extra step in one leaf image's template, before its footer block. */
export function changeLeaf(tree: string, image: string, stamp: string): void {
  const footer = `{% block ${image.replace(/-/g, '_')}_footer %}`;
  const template = imageTemplates(tree).get(image);
  if (template === undefined) throw new Error(`${tree}: no image ${image}`);
  edit(template, (text) => text.replace(footer, `RUN echo ${stamp} > /bench-change\n${footer}`));
}
