import type { Finding, Verdict } from './types.js';

export interface ScanPolicy {
  /** Findings without a fixed version do not count (trivy's --ignore-unfixed). */
  ignoreUnfixed: boolean;
  /** Vulnerability ids the operators accepted for this image (global and per image). */
  allowed: ReadonlySet<string>;
}

export type FindingStatus = 'counted' | 'allowed' | 'unfixed' | 'below-high' | 'kernel';

/**
 * Why a finding does or does not count toward the verdict, as the operators' scan script decides:
 * only HIGH and CRITICAL count; kernel packages, allowed ids and (when asked) unfixed ones do not.
 */
export function findingStatus(finding: Finding, policy: ScanPolicy): FindingStatus {
  if (finding.severity !== 'HIGH' && finding.severity !== 'CRITICAL') return 'below-high';
  if (policy.allowed.has(finding.id) || finding.aliases.some((alias) => policy.allowed.has(alias))) return 'allowed';
  if (policy.ignoreUnfixed && finding.fixed === '') return 'unfixed';
  if (/kernel/.test(finding.package)) return 'kernel';
  return 'counted';
}

/**
 * clean: nothing counts; critical: a CRITICAL counts outside kernel packages; dirty: the rest. A kernel
 * finding keeps an image from being clean but never makes it critical: the operators' script drops
 * kernel rows from the summary it greps for CRITICAL.
 */
export function verdictOf(findings: readonly Finding[], statuses: readonly FindingStatus[]): Verdict {
  const counting = findings.filter((_, index) => statuses[index] === 'counted' || statuses[index] === 'kernel');
  if (counting.length === 0) return 'clean';
  const critical = findings.some((finding, index) => statuses[index] === 'counted' && finding.severity === 'CRITICAL');
  return critical ? 'critical' : 'dirty';
}

export interface Classified {
  verdict: Verdict;
  statuses: FindingStatus[];
}

export function classify(findings: readonly Finding[], policy: ScanPolicy): Classified {
  const statuses = findings.map((finding) => findingStatus(finding, policy));
  return { verdict: verdictOf(findings, statuses), statuses };
}
