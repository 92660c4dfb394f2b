import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyBundledImages, markBaseImage, projectRoot } from '../../test/helpers/files.js';

export interface RespinWorkspace {
  dir: string;
  configDir: string;
  /** The bench's copy of the bundled image tree. */
  imagesDir: string;
  /** CI_BUILDER_CACHE_DIR of every run: bootstrapped root filesystems and the package cache, the bench's own. */
  cacheDir: string;
}

export interface RespinConfig {
  engine: string;
  registry: { address: string; username: string; password: string };
  pulp: { origin: string; username: string; password: string };
  /** respin.compose: where stacked images are put together. */
  compose: 'auto' | 'store' | 'registry';
}

/**
 * A private copy of the bundled library, with a base marker of this bench run (so the first build is
 * cold whatever the engine holds), and a config whose debian distro is one pinned distribution of the
 * stand-in Pulp (base_path debian/ at a version) pushing to the test registry.
 */
export function respinWorkspace(dir: string, config: RespinConfig): RespinWorkspace {
  const imagesDir = copyBundledImages(join(dir, 'images'));
  markBaseImage(imagesDir, 'ci-builder.bench-respin');
  const workspace = { dir, configDir: join(dir, 'etc'), imagesDir, cacheDir: join(dir, 'cache') };
  mkdirSync(workspace.configDir, { recursive: true });
  writeFileSync(
    join(workspace.configDir, 'secrets.yml'),
    [
      `registry_username: ${config.registry.username}`,
      `registry_password: ${config.registry.password}`,
      `pulp_username: ${config.pulp.username}`,
      `pulp_password: ${config.pulp.password}`,
      '',
    ].join('\n'),
  );
  const bundled = readFileSync(join(projectRoot, 'etc/ci-builder/config.yml'), 'utf8')
    .replace(/^registry: .*$/m, `registry: ${config.registry.address}`)
    .replace(/^namespace: .*$/m, 'namespace: bench-respin')
    .replace(/^engine: .*$/m, `engine: ${config.engine}`)
    .replace(/^ {2}- \.\.\/\.\.\/images$/m, `  - ${imagesDir}`);
  const respin = `respin:\n  compose: ${config.compose}\n`;
  writeFileSync(
    join(workspace.configDir, 'config.template.yml'),
    `${bundled}\npulp:\n  url: ${config.pulp.origin}\n${respin}`,
  );
  return workspace;
}

/** Points the debian distro at one version of the Pulp distribution: all a snapshot move changes in the config. */
export function pinSnapshot(workspace: RespinWorkspace, version: string): void {
  const template = readFileSync(join(workspace.configDir, 'config.template.yml'), 'utf8');
  const repositories = [
    '    repositories:',
    '      - name: debian',
    '        base_path: debian/',
    `        version: "${version}"`,
    '        suites: [bookworm]',
    // aptly publishes the snapshots unsigned.
    '        trusted: true',
    '',
  ].join('\n');
  writeFileSync(
    join(workspace.configDir, 'config.yml'),
    template.replace(/^ {4}repositories:\n(?: {6}.*\n)+/m, repositories),
  );
}

/** The host cache as it was after the cold build, so each respin starts from the same cache whatever ran before it. */
export function saveCache(workspace: RespinWorkspace): () => void {
  const saved = `${workspace.cacheDir}.after-cold`;
  rmSync(saved, { recursive: true, force: true });
  cpSync(workspace.cacheDir, saved, { recursive: true });
  return () => {
    rmSync(workspace.cacheDir, { recursive: true, force: true });
    cpSync(saved, workspace.cacheDir, { recursive: true });
  };
}

export interface CliRun {
  code: number | null;
  /** When the command started, as wall-clock milliseconds (to set against a summary's started_at). */
  startedAt: number;
  seconds: number;
  stdout: string;
}

/** ci-builder as a user runs it, its stderr shown as it goes; a Ctrl-C reaches it (same process group) and ends the bench after. */
export function runCli(workspace: RespinWorkspace, args: readonly string[]): Promise<CliRun> {
  const startedAt = Date.now();
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'dist/cli/main.js'), '--config', workspace.configDir, ...args],
    {
      cwd: workspace.dir,
      env: { ...process.env, CI_BUILDER_CACHE_DIR: workspace.cacheDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, startedAt, seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout }),
    );
  });
}
