import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KollaBuildSettings } from './effective-options.js';
import type { KollaCheckout } from './read-checkout.js';
import { distroPythonVersion, reposFileFor } from './release-values.js';
import { kollaDefaultTag } from './config-layer.js';

/**
 * How a release's handle_repos reads repos.yaml: `by-name` (2024.1, 2025.1: the `<distro>-<arch>` section,
 * else the distro's, rpm entries a bare repository name), `by-section` (2025.2, 2026.1: package type, distro
 * and distro-arch sections merged, entries mappings) or `current` (later: as `by-section`, plus distro
 * repositories, trusted keys and the operator's file merged over Kolla's).
 */
export type ReposDialect = 'by-name' | 'by-section' | 'current';

/** What rendering needs to give templates what this release's kolla-build gives them. */
export interface KollaRenderRules {
  /** The template variables the release passes, and only those. */
  keys: readonly string[];
  /** strftime format of build_date; null when the release passes none. */
  buildDateFormat: string | null;
  openstackBranch: string;
  openstackBranchSlashed: string;
  /** The repos_yaml option as templates see it (null when unset). */
  reposYamlOption: string | null;
  reposDialect: ReposDialect;
  distroPythonVersion: (distro: string, baseTag: string) => string | null;
  /** Kolla's own repos file handle_repos reads for a distro, absolute. */
  reposFile: (distro: string, baseTag: string) => string;
  defaultTag: (distro: string) => string | null;
}

function reposDialectOf(checkout: KollaCheckout): ReposDialect {
  const methods = join(checkout.dir, 'kolla/template/methods.py');
  const code = existsSync(methods) ? readFileSync(methods, 'utf8') : '';
  // The releases differ in how handle_repos is written; each dialect has a name only it uses.
  if (/\brpm_switch\b/.test(code)) return 'by-name';
  if (checkout.reposYaml.override === 'merge') return 'current';
  return 'by-section';
}

export function kollaRenderRules(checkout: KollaCheckout, settings: KollaBuildSettings): KollaRenderRules {
  const reposYaml = settings.values.repos_yaml;
  return {
    keys: checkout.templates.keys,
    buildDateFormat: checkout.templates.buildDateFormat,
    openstackBranch: settings.openstackBranch,
    openstackBranchSlashed: settings.openstackBranchSlashed,
    reposYamlOption: typeof reposYaml === 'string' && reposYaml !== '' ? reposYaml : null,
    reposDialect: reposDialectOf(checkout),
    distroPythonVersion: (distro, baseTag) => distroPythonVersion(checkout, distro, baseTag),
    reposFile: (distro, baseTag) => join(checkout.reposYaml.dir, reposFileFor(checkout, distro, baseTag)),
    defaultTag: (distro) => kollaDefaultTag(checkout, settings, distro),
  };
}

/** Python's strftime for the directives Kolla's build_date uses, in UTC. */
export function strftime(format: string, date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  const fields: Record<string, string> = {
    Y: String(date.getUTCFullYear()),
    m: two(date.getUTCMonth() + 1),
    d: two(date.getUTCDate()),
    H: two(date.getUTCHours()),
    M: two(date.getUTCMinutes()),
    S: two(date.getUTCSeconds()),
    '%': '%',
  };
  return format.replace(/%(.)/g, (match, directive: string) => fields[directive] ?? match);
}
