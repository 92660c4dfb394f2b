import type { KollaCondition } from './checkout-data.js';
import type { KollaCheckout } from './read-checkout.js';

/** Values a condition names; Kolla's worker says `base_tag`, its templates `base_distro_tag`. */
export type ConditionValues = Record<string, string | undefined>;

export function conditionHolds(condition: KollaCondition, values: ConditionValues): boolean {
  switch (condition.kind) {
    case 'in':
      return values[condition.name] !== undefined && condition.values.includes(values[condition.name] ?? '');
    case 'prefix':
      return condition.prefixes.some((prefix) => (values[condition.name] ?? '').startsWith(prefix));
    case 'set':
      return (values[condition.name] ?? '') !== '';
    case 'all':
      return condition.of.every((inner) => conditionHolds(inner, values));
    case 'any':
      return condition.of.some((inner) => conditionHolds(inner, values));
    case 'not':
      return !condition.of.every((inner) => conditionHolds(inner, values));
    default: {
      const never: never = condition;
      return never;
    }
  }
}

/** `openstack_branch` for a release (`unmaintained-2024.1`, `stable-2025.1`, `master`) and its slashed form. */
export function openstackBranch(checkout: KollaCheckout, release: string): { dashed: string; slashed: string } {
  const rule = checkout.templates.branchPrefix;
  const dashed = `${release === rule.release ? rule.then : rule.else}${release}`;
  return { dashed, slashed: dashed.replace(/-/g, '/') };
}

/** `distro_python_version` for a distro and base tag; null on releases whose templates do not get it. */
export function distroPythonVersion(checkout: KollaCheckout, base: string, baseTag: string): string | null {
  const rules = checkout.templates.distroPythonVersion;
  if (rules === null) return null;
  const values = { base, base_tag: baseTag, base_distro: base, base_distro_tag: baseTag };
  return rules.find((rule) => rule.when.every((condition) => conditionHolds(condition, values)))?.value ?? null;
}

/** The repos file of Kolla's own that handle_repos reads for a distro and base tag. */
export function reposFileFor(checkout: KollaCheckout, base: string, baseTag: string): string {
  const values = { base, base_tag: baseTag, base_distro: base, base_distro_tag: baseTag };
  return checkout.reposYaml.variants.find((variant) => conditionHolds(variant.when, values))?.file ?? 'repos.yaml';
}

/** The images Kolla marks unbuildable for a build (values named by the release's key elements). */
export function unbuildableFor(checkout: KollaCheckout, values: Record<string, string>): string[] {
  const { table, keyElements } = checkout.unbuildable;
  const known = new Set(keyElements.map((element) => values[element]).filter((value) => value !== undefined));
  const applies = (key: string): boolean => key.split('+').every((element) => known.has(element));
  return [...new Set(Object.entries(table).flatMap(([key, images]) => (applies(key) ? images : [])))].sort();
}

/** The default image tag (`<release>-<base>-<base_tag>` on newer releases, kolla's version on older ones). */
export function defaultImageTag(checkout: KollaCheckout, values: Record<string, string>): string | null {
  const rule = checkout.templates.defaultTag;
  const version = checkout.version.version;
  if (rule.kind === 'kolla-version') return version.source === 'none' ? null : version.version;
  return rule.format.replace(/\{\{|\}\}|\{([a-z_]+)\}/g, (match, name: string | undefined) =>
    name === undefined ? (match[0] ?? '') : (values[name] ?? match),
  );
}
