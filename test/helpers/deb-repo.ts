import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { temporaryDir } from './files.js';

/** One package version a repository offers or dpkg's status holds. */
export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  source?: string;
}

/** One suite of a small apt repository, with the Release fields preferences pin by. */
export interface DebSuite {
  suite: string;
  codename?: string;
  origin?: string;
  label?: string;
  version?: string;
  notAutomatic?: boolean;
  butAutomaticUpgrades?: boolean;
  component?: string;
  packages: readonly DebPackage[];
}

export const ARCHITECTURE = 'amd64';

function stanza(pkg: DebPackage, extra: string[]): string {
  return [
    `Package: ${pkg.name}`,
    ...(pkg.source === undefined ? [] : [`Source: ${pkg.source}`]),
    `Version: ${pkg.version}`,
    `Architecture: ${pkg.architecture}`,
    'Maintainer: Test <test@example.org>',
    ...extra,
    `Description: ${pkg.name}`,
    ' a package of the test repository',
    '',
  ].join('\n');
}

/**
 * A repository laid out as a Debian mirror (dists/<suite>/Release, <component>/binary-amd64/Packages), its
 * Release listing the index's sha256: what apt reads over file: and readSnapshotIndexes over HTTP.
 */
export function writeDebRepo(dir: string, suites: readonly DebSuite[]): string {
  for (const suite of suites) {
    const component = suite.component ?? 'main';
    const index = suite.packages
      .map((pkg) => stanza(pkg, [`Filename: pool/${pkg.name}_${pkg.version}_${pkg.architecture}.deb`, 'Size: 1']))
      .join('\n');
    const path = `${component}/binary-${ARCHITECTURE}/Packages`;
    mkdirSync(join(dir, 'dists', suite.suite, component, `binary-${ARCHITECTURE}`), { recursive: true });
    writeFileSync(join(dir, 'dists', suite.suite, path), index);
    const release = [
      ...(suite.origin === undefined ? [] : [`Origin: ${suite.origin}`]),
      ...(suite.label === undefined ? [] : [`Label: ${suite.label}`]),
      `Suite: ${suite.suite}`,
      ...(suite.version === undefined ? [] : [`Version: ${suite.version}`]),
      `Codename: ${suite.codename ?? suite.suite}`,
      'Date: Sat, 01 Jun 2024 00:00:00 UTC',
      ...(suite.notAutomatic ? ['NotAutomatic: yes'] : []),
      ...(suite.butAutomaticUpgrades ? ['ButAutomaticUpgrades: yes'] : []),
      `Architectures: ${ARCHITECTURE}`,
      `Components: ${component}`,
      'SHA256:',
      ` ${createHash('sha256').update(index).digest('hex')} ${Buffer.byteLength(index)} ${path}`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'dists', suite.suite, 'Release'), release);
  }
  return dir;
}

/** dpkg's status file holding these packages, installed. */
export function dpkgStatus(packages: readonly DebPackage[]): string {
  return packages.map((pkg) => stanza(pkg, ['Status: install ok installed'])).join('\n');
}

/** Whether the host has apt to compare with (Debian's apt 2.6 on the build hosts). */
export const hostApt = existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/apt-cache');

/**
 * Real apt's candidate for each package, with this status, these preferences and the suites a mirror serves
 * as its sources: a root of its own (Dir=), nothing of the host's configuration read, `apt-get update` over
 * HTTP then `apt-cache policy`. The answer is what GetCandidateVer decides.
 */
export async function aptCandidates(request: {
  mirror: string;
  suites: readonly DebSuite[];
  status: readonly DebPackage[];
  preferences: string;
}): Promise<Map<string, string>> {
  const root = temporaryDir('ci-builder-apt-');
  for (const dir of ['etc/apt/preferences.d', 'etc/apt/apt.conf.d', 'var/lib/dpkg', 'var/lib/apt/lists/partial'])
    mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), dpkgStatus(request.status));
  writeFileSync(join(root, 'etc/apt/preferences'), request.preferences);
  writeFileSync(
    join(root, 'etc/apt/sources.list'),
    request.suites
      .map((suite) => `deb [trusted=yes] ${request.mirror}/ ${suite.suite} ${suite.component ?? 'main'}\n`)
      .join(''),
  );
  const options = [
    ...['-o', `Dir=${root}`, '-o', `Dir::State::status=${join(root, 'var/lib/dpkg/status')}`],
    ...['-o', `APT::Architecture=${ARCHITECTURE}`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root'],
    ...['-o', 'Acquire::Languages=none', '-o', 'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false'],
  ];
  await run('apt-get', ['-qq', ...options, 'update']);
  const names = [...new Set(request.status.map((pkg) => pkg.name))];
  const output = await run('apt-cache', [...options, 'policy', ...names]);
  const candidates = new Map<string, string>();
  for (const match of output.matchAll(/^(\S+):\n {2}Installed: .*\n {2}Candidate: (\S+)/gm))
    candidates.set(match[1] ?? '', match[2] ?? '');
  return candidates;
}

const execFileAsync = promisify(execFile);

async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return stdout;
}
