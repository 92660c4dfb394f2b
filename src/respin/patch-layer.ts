import { shellQuote } from '../repos/shell.js';
import type { MovedPackage } from './apt-policy.js';
import { aptListsCommands } from './shared-apt-lists.js';

/** Labels a patched image carries, beside the plan's own (input digest, recipe digest, snapshot set). */
export const PATCHED_FROM_LABEL = 'ci-builder.patched-from';
export const PATCHED_PACKAGES_LABEL = 'ci-builder.patched-packages';
export const PATCH_LAYERS_LABEL = 'ci-builder.patch-layers';

export interface PatchRequest {
  /** The image patched: its engine id. */
  patched: string;
  /** The name the build's FROM gives it (BuildKit resolves names only). */
  from: string;
  /** The user it runs as ('' or root: no switch needed). */
  user: string;
  /** The run's repository setup and restore commands (sources to the new snapshots, then back, leak guard). */
  setup: readonly string[];
  restore: readonly string[];
  packages: readonly MovedPackage[];
  /** dpkg's own architecture: its packages and `all` ones are named bare, foreign ones with `:arch`. */
  nativeArchitecture: string;
}

/** apt's name of one package: bare for dpkg's own architecture and `all`, `name:arch` for a foreign one. */
function aptName(entry: MovedPackage, native: string): string {
  const foreign = entry.architecture !== 'all' && entry.architecture !== native;
  return `${entry.name}${foreign ? `:${entry.architecture}` : ''}`;
}

/** `name from→to` for the label, one package per entry, in name order. */
export function describePatched(packages: readonly MovedPackage[]): string {
  return [...packages]
    .sort((a, b) => a.name.localeCompare(b.name) || a.architecture.localeCompare(b.architecture))
    .map((entry) => `${entry.name} ${entry.from}→${entry.to}`)
    .join(', ');
}

/**
 * The shell script of a patch: points apt at the new snapshots (through the run's proxy, as a build), upgrades
 * exactly the moved packages to the versions decided (new dependencies they need come along; nothing is removed;
 * automatically installed ones stay so), drops the lists, puts the image's own sources back and runs the leak
 * guard. dpkg's fsyncs are skipped (--force-unsafe-io): the layer is written once, at commit.
 */
export function patchScript(
  request: Omit<PatchRequest, 'patched' | 'from' | 'user'> & {
    /** Lists exported to or imported from the run's folder where the command is told to (shared-apt-lists.ts). */
    sharedLists?: boolean;
  },
): string {
  const names = request.packages.map((entry) => aptName(entry, request.nativeArchitecture));
  const upgrade = [
    ...(request.sharedLists === true ? aptListsCommands() : ['apt-get update']),
    // apt-get install marks what it is asked for as installed by hand; those installed only as another's
    // dependency stay so, as in a full build (a later autoremove takes the same packages).
    `auto="$(apt-mark showauto ${names.map(shellQuote).join(' ')})"`,
    [
      'DEBIAN_FRONTEND=noninteractive apt-get install -y --only-upgrade --no-install-recommends',
      '-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io',
      ...request.packages.map((entry, index) => shellQuote(`${names[index] ?? ''}=${entry.to}`)),
    ].join(' '),
    'if [ -n "$auto" ]; then apt-mark auto $auto >/dev/null; fi',
    'apt-get clean',
  ];
  return `set -e; \\\n    ${[...request.setup, ...upgrade, ...request.restore].join('; \\\n    ')}`;
}

/**
 * The Dockerfile of one patch layer: FROM the image itself (by the name given it for the build, its id in a
 * comment: the name is gone after the build), one RUN of the patch's script as root.
 */
export function patchDockerfile(request: PatchRequest): string {
  const switchUser = request.user !== '' && request.user !== 'root' && request.user !== '0';
  return [
    `# the image patched: ${request.patched}`,
    `FROM ${request.from}`,
    ...(switchUser ? ['USER root'] : []),
    `RUN ${patchScript(request)}`,
    ...(switchUser ? [`USER ${request.user}`] : []),
    '',
  ].join('\n');
}
