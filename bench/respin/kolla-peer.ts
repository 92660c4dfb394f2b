/**
 * kolla-build as the respin bench's peer: the same tree rebuilt in full at snapshot B, as operators run it
 * today. Its images install from the pinned snapshot through the authenticating proxy (`ci-builder proxy
 * serve`, with no cache: the operators' proxy keeps none); each image's header block points its package
 * sources at the proxy and its footer block puts them back, as Kayobe's template override blocks do; it builds
 * on its own dockerd (the classic builder, as kolla-build drives docker here) from the same bootstrapped root
 * filesystem ci-builder starts from, and pushes to the bench's registry.
 *
 * The blocks are ci-builder's own setup and restore steps, taken from the Dockerfiles of its full rebuild at B
 * (its package cache's origin swapped for the proxy's), so both tools run the same package steps and the
 * bench can check that they built the same images: the same Dockerfiles with those steps set aside, the same
 * installed packages, name = version, in every image.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DockerEngine } from '../../src/engine/docker.js';
import { dockerCommand } from '../../src/engine/index.js';
import { installedPackages } from '../../test/helpers/installed-packages.js';
import { projectRoot } from '../../test/helpers/files.js';
import { dockerfileDifferences, instructions, isPackageStep } from '../versus-kolla/compare.js';
import { baseImageOf, dockerfilesUnder, runKollaBuild, type Measurement } from '../versus-kolla/runners.js';
import { startDockerd } from '../versus-kolla/services.js';
import { configuredRelease, createKollaWorkspace } from '../versus-kolla/workspace.js';
import type { PackageSets } from './package-sets.js';

export interface KollaPeerRequest {
  /** A folder of the bench's own, for the peer's dockerd, config, workspace and logs. */
  dir: string;
  /** A Kolla checkout (its kolla-build runs with Debian's python3). */
  checkout: string;
  /** The bench's image tree, as ci-builder builds it. */
  imagesDir: string;
  /** The bench's configuration folder, pinned at snapshot B. */
  configDir: string;
  /** The bench's CI_BUILDER_CACHE_DIR: the bootstrapped root filesystem is taken from it, not made again. */
  cacheDir: string;
  registry: { address: string; username: string; password: string };
  namespace: string;
  /** ci-builder's full rebuild at B: its run folder (rendered Dockerfiles) and tag. */
  full: { runDir: string; tag: string };
  tag: string;
  regexes: readonly string[];
  threads: number;
  /** The registry's stored bytes, read before and after the build. */
  storedBytes: () => number;
  log: (line: string) => void;
}

export interface KollaPeerResult {
  seconds: number;
  exitCode: number | null;
  built: string[];
  failed: string[];
  pushedMB: number;
  /** The bootstrapped base both tools started from. */
  baseImage: string;
  /** One line per material difference from ci-builder's Dockerfiles at B, and per image missing a package step. */
  dockerfileProblems: string[];
  /** name → version of every installed package, per built image. */
  sets: PackageSets;
  log: string;
}

export async function measureKollaBuild(request: KollaPeerRequest): Promise<KollaPeerResult> {
  mkdirSync(request.dir, { recursive: true });
  const dockerd = await startDockerd(join(request.dir, 'dockerd'));
  const configDir = dockerConfig(request);
  const env = { ...process.env, DOCKER_HOST: dockerd.address, CI_BUILDER_CACHE_DIR: request.cacheDir };
  let proxy: { origin: string; stop: () => Promise<void> } | undefined;
  try {
    const base = await importBase(request, configDir, env);
    proxy = await startProxy(configDir, env, join(request.dir, 'proxy.log'));
    request.log(`kolla-build peer: base ${base.image}:${base.tag}, proxy ${proxy.origin}`);
    const workspace = createKollaWorkspace(
      join(request.dir, 'kolla'),
      request.checkout,
      request.imagesDir,
      configuredRelease(join(request.configDir, 'config.yml')),
    );
    const ciBuilderFiles = renderedDockerfiles(join(request.full.runDir, 'dockerfiles'));
    writeFileSync(
      workspace.templateOverride,
      `${readFileSync(workspace.templateOverride, 'utf8')}${packageStepBlocks(ciBuilderFiles, proxy.origin)}`,
    );
    const storedBefore = request.storedBytes();
    const run = await runKollaBuild(
      workspace,
      {
        dockerHost: dockerd.address,
        registry: request.registry.address,
        namespace: request.namespace,
        baseImage: base.image,
        baseTag: base.tag,
        threads: request.threads,
        extraEnv: { DOCKER_CONFIG: dockerLogin(request) },
      },
      { label: 'b-full', tag: request.tag, push: true, regexes: request.regexes },
    );
    const pushedMB = (request.storedBytes() - storedBefore) / 1e6;
    const engine = new DockerEngine(dockerCommand(), env);
    const sets: PackageSets = {};
    for (const name of run.built)
      sets[name] = await installedPackages(
        engine,
        `${request.registry.address}/${request.namespace}/${name}:${request.tag}`,
      );
    const ciBuilder: Measurement = { ...run, tool: 'buildah', tag: request.full.tag, dockerfiles: ciBuilderFiles };
    return {
      seconds: run.seconds,
      exitCode: run.exitCode,
      built: run.built,
      failed: run.failed,
      pushedMB,
      baseImage: `${base.image}:${base.tag}`,
      dockerfileProblems: [...dockerfileDifferences(ciBuilder, run), ...missingPackageSteps(run.dockerfiles)],
      sets,
      log: run.log,
    };
  } finally {
    await proxy?.stop();
    await dockerd.stop();
  }
}

/** The bench's configuration with the docker engine: for importing the base and for the proxy (no secret written anew). */
function dockerConfig(request: KollaPeerRequest): string {
  const dir = join(request.dir, 'etc');
  mkdirSync(dir, { recursive: true });
  const config = readFileSync(join(request.configDir, 'config.yml'), 'utf8').replace(/^engine: .*$/m, 'engine: docker');
  writeFileSync(join(dir, 'config.yml'), config);
  writeFileSync(join(dir, 'secrets.yml'), readFileSync(join(request.configDir, 'secrets.yml')));
  return dir;
}

/**
 * An unmeasured ci-builder build of `^base$` on the peer's dockerd: it imports the bootstrapped root
 * filesystem from the bench's cache, which kolla-build is then told to build from.
 */
async function importBase(
  request: KollaPeerRequest,
  configDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ image: string; tag: string }> {
  const runDir = join(request.dir, 'base-run');
  const args = ['--config', configDir, '-q', 'build', '^base$', '--auth-proxy', '--tag', `${request.tag}-base`];
  // Not spawnSync: the stand-in Pulp the build's proxy reaches is served from the bench's own process.
  const child = spawn(process.execPath, [join(projectRoot, 'dist/cli/main.js'), ...args, '--run-dir', runDir], {
    cwd: request.dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`importing the base into the peer's dockerd failed: ${stderr.trim()}`);
  return baseImageOf(runDir);
}

/** `ci-builder proxy serve` on a free loopback port, with no cache; resolves once it says where it listens. */
async function startProxy(
  configDir: string,
  env: NodeJS.ProcessEnv,
  logPath: string,
): Promise<{ origin: string; stop: () => Promise<void> }> {
  const args = [join(projectRoot, 'dist/cli/main.js'), '--config', configDir, 'proxy', 'serve', '--no-cache'];
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const origin = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => {
      const match = /^listening on (\S+)/.exec(line);
      if (match?.[1]) resolve(match[1]);
      else reject(new Error(`the proxy said "${line}" where it says where it listens`));
    });
    child.once('exit', (code) => reject(new Error(`the proxy exited (${code}): ${log.join('').trim()}`)));
  });
  return {
    origin,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      writeFileSync(logPath, log.join(''));
    },
  };
}

/** A docker client configuration logged in to the bench's registry, as kolla-build's push reads it. */
function dockerLogin(request: KollaPeerRequest): string {
  const dir = join(request.dir, 'docker-config');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const auth = Buffer.from(`${request.registry.username}:${request.registry.password}`).toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [request.registry.address]: { auth } } }), {
    mode: 0o600,
  });
  return dir;
}

/** image → its Dockerfile, as a ci-builder run folder keeps them (`dockerfiles/<image>/Dockerfile`). */
function renderedDockerfiles(dir: string): Map<string, string> {
  if (!existsSync(dir)) throw new Error(`${dir}: ci-builder's full rebuild at B kept no Dockerfiles`);
  return dockerfilesUnder(dir);
}

/** A package step with the `USER root` … `USER <user>` around it that a non-root image needs. */
function stepWithUser(lines: readonly string[], at: number): string[] {
  const wrapped = lines[at - 1] === 'USER root' && lines[at + 1]?.startsWith('USER ');
  return wrapped ? lines.slice(at - 1, at + 2) : [lines[at] ?? ''];
}

/**
 * One `<image>_header` block (the setup step, after FROM in ci-builder's file) and one `<image>_footer` block
 * (the restore step and its leak guard, last in ci-builder's file) per image, the package cache's origin
 * replaced by the proxy's.
 */
export function packageStepBlocks(dockerfiles: ReadonlyMap<string, string>, proxyOrigin: string): string {
  const blocks: string[] = [];
  for (const [image, file] of [...dockerfiles].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = instructions(readFileSync(file, 'utf8').split('\n'));
    const steps = lines.flatMap((line, index) => (isPackageStep(line) ? [index] : []));
    const [setup, restore] = [steps[0], steps.at(-1)];
    if (steps.length !== 2 || setup === undefined || restore === undefined)
      throw new Error(`${file}: expected a setup and a restore step, found ${steps.length} package steps`);
    const origin = /\bdeb (?:\[[^\]]*\] )?(https?:\/\/[^/\s]+)\//.exec(lines[setup] ?? '')?.[1];
    if (origin === undefined) throw new Error(`${file}: the setup step names no repository origin`);
    const block = (name: string, at: number) =>
      `{% block ${image.replaceAll('-', '_')}_${name} %}\n${stepWithUser(lines, at).join('\n').replaceAll(origin, proxyOrigin)}\n{% endblock %}\n`;
    blocks.push(block('header', setup), block('footer', restore));
  }
  return blocks.join('');
}

/** Images whose Dockerfile lacks the setup or the restore step (the comparison sets both aside, so it says here). */
function missingPackageSteps(dockerfiles: ReadonlyMap<string, string>): string[] {
  return [...dockerfiles].flatMap(([image, file]) => {
    const steps = instructions(readFileSync(file, 'utf8').split('\n')).filter(isPackageStep).length;
    return steps === 2
      ? []
      : [`${image}: kolla-build's Dockerfile has ${steps} package steps, not a setup and a restore`];
  });
}
