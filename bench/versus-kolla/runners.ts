/**
 * One measured run of each tool: kolla-build from the Kolla checkout with Debian's python3, or ci-builder's
 * compiled CLI; wall seconds around the whole process, what it built, and where its Dockerfiles are.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunSummary } from '../../src/report/summary.js';
import { ownSteps, type OwnSteps } from './own-steps.js';
import { PBR_VERSION, type KollaWorkspace, type Tool, type Workspace } from './workspace.js';

export interface RunRequest {
  /** Names the run's folders. */
  label: string;
  tag: string;
  push: boolean;
  regexes: readonly string[];
}

/** What both tools are told alike. */
export interface Shared {
  dockerHost: string;
  registry: string;
  namespace: string;
  /** The bootstrapped base image, as ci-builder names it in the base image's FROM. */
  baseImage: string;
  baseTag: string;
  threads: number;
  /** More environment for kolla-build (a docker client configuration logged in to the registry, say). */
  extraEnv?: Record<string, string>;
}

export interface Measurement {
  tool: Tool;
  label: string;
  tag: string;
  seconds: number;
  exitCode: number | null;
  built: string[];
  /** ci-builder only: images found in the engine at their input digest. */
  reused: string[];
  failed: string[];
  /** ci-builder's package cache counter, when its summary has one. */
  bytesFromUpstream: number | null;
  /** ci-builder only: its own share of the run, step by step (from its summary.json). */
  steps: OwnSteps | null;
  /** image → its rendered Dockerfile. */
  dockerfiles: Map<string, string>;
  log: string;
}

/**
 * Runs the command to its end, its output into the log. Not blocking: a bench may serve the run from its own
 * process (the respin bench's stand-in Pulp answers the proxy kolla-build installs through).
 */
async function timed(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: string) {
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, 'w');
  try {
    const startedMs = Date.now();
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, exitCode, startedMs, endedMs: Date.now() };
  } finally {
    closeSync(fd);
  }
}

/** image → Dockerfile for every folder under `dir` holding one (kolla-build's layout and ci-builder's). */
export function dockerfilesUnder(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(dir)) return found;
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(current, entry.name);
      if (existsSync(join(path, 'Dockerfile'))) found.set(entry.name, join(path, 'Dockerfile'));
      walk(path);
    }
  };
  walk(dir);
  return found;
}

function withoutImages(dockerfiles: Map<string, string>, unwanted: readonly string[]): Map<string, string> {
  return new Map([...dockerfiles].filter(([image]) => !unwanted.includes(image)));
}

const names = (list: ReadonlyArray<{ name: string }> | undefined) => (list ?? []).map((entry) => entry.name);

export async function runKollaBuild(
  workspace: KollaWorkspace,
  shared: Shared,
  request: RunRequest,
): Promise<Measurement> {
  const work = join(workspace.dir, 'runs', request.label);
  const summaryFile = join(workspace.dir, 'runs', `${request.label}.json`);
  const log = join(workspace.dir, 'runs', `${request.label}.log`);
  const args = ['-m', 'kolla.cmd.build', '--config-file', workspace.configFile];
  args.push('--base', 'debian', '--base-image', shared.baseImage, '--base-tag', shared.baseTag);
  args.push('--registry', shared.registry, '--namespace', shared.namespace, '--tag', request.tag);
  args.push('--threads', String(shared.threads), '--push-threads', String(shared.threads), '--retries', '0');
  // The classic builder, as kolla-build drives docker here (no buildx); nothing can be pulled.
  args.push('--nobuildkit', '--nopull', '--template-override', workspace.templateOverride);
  args.push('--work-dir', work, '--summary-json-file', summaryFile, '--format', 'json');
  if (request.push) args.push('--push');
  const env = { ...process.env, PBR_VERSION, DOCKER_HOST: shared.dockerHost, ...shared.extraEnv };
  const { seconds, exitCode } = await timed(
    '/usr/bin/python3',
    [...args, ...request.regexes],
    workspace.checkout,
    env,
    log,
  );
  const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Partial<RunSummary>) : {};
  return {
    tool: 'kolla-build',
    label: request.label,
    tag: request.tag,
    seconds,
    exitCode,
    built: names(summary.built),
    reused: [],
    failed: names(summary.failed),
    bytesFromUpstream: null,
    steps: null,
    // kolla-build renders every image of the tree into its work dir; only those it was asked for count.
    dockerfiles: withoutImages(dockerfilesUnder(join(work, 'docker')), names(summary.not_matched)),
    log,
  };
}

export interface CiBuilderRun {
  cli: string;
  workspace: Workspace;
  shared: Shared;
  request: RunRequest;
}

type SummaryWithCache = Partial<RunSummary> & { package_cache?: { bytes_from_upstream?: number } };

export async function runCiBuilder({ cli, workspace, shared, request }: CiBuilderRun): Promise<Measurement> {
  const runDir = join(workspace.dir, 'runs', request.label);
  const log = `${runDir}.log`;
  const args = [cli, '--config', join(workspace.dir, 'etc'), '-q', 'build', '--tag', request.tag];
  args.push('--run-dir', runDir, '--threads', String(shared.threads), '--push-threads', String(shared.threads));
  args.push('--retries', '0');
  if (request.push) args.push('--push');
  const env = { ...process.env, DOCKER_HOST: shared.dockerHost };
  const { startedMs, endedMs, ...ran } = await timed(
    process.execPath,
    [...args, ...request.regexes],
    workspace.dir,
    env,
    log,
  );
  const summaryFile = join(runDir, 'summary.json');
  const summary = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as SummaryWithCache)
    : ({} as SummaryWithCache);
  return {
    tool: workspace.tool,
    label: request.label,
    tag: request.tag,
    ...ran,
    built: names(summary.built),
    reused: names(summary.reused),
    failed: [...names(summary.failed), ...names(summary.push_failed)],
    bytesFromUpstream: summary.package_cache?.bytes_from_upstream ?? null,
    steps: ownSteps(summary, startedMs, endedMs),
    dockerfiles: dockerfilesUnder(join(runDir, 'dockerfiles')),
    log,
  };
}

/** The base image ci-builder's prepared run started from, split as kolla-build's --base-image and --base-tag. */
export function baseImageOf(runDir: string): { image: string; tag: string } {
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Partial<RunSummary>;
  const reference = summary.base_image?.reference;
  if (reference === undefined) throw new Error(`${runDir}/summary.json names no base image`);
  const colon = reference.lastIndexOf(':');
  return { image: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}
