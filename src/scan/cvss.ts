import type { Severity } from './types.js';

/** CVSS v3.0/v3.1 base score from a vector string, by the specification's formula; undefined when not a v3 vector. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.trim().split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const metrics = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const [key, value] = part.split(':');
    if (key && value) metrics.set(key, value);
  }
  const pick = (key: string, weights: Record<string, number>): number | undefined => weights[metrics.get(key) ?? ''];
  const scope = metrics.get('S');
  if (scope !== 'U' && scope !== 'C') return undefined;
  const changed = scope === 'C';
  const attackVector = pick('AV', { N: 0.85, A: 0.62, L: 0.55, P: 0.2 });
  const complexity = pick('AC', { L: 0.77, H: 0.44 });
  const privileges = pick('PR', changed ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 });
  const interaction = pick('UI', { N: 0.85, R: 0.62 });
  const impactWeights = { H: 0.56, L: 0.22, N: 0 };
  const [c, i, a] = [pick('C', impactWeights), pick('I', impactWeights), pick('A', impactWeights)];
  if (attackVector === undefined || complexity === undefined || privileges === undefined) return undefined;
  if (interaction === undefined || c === undefined || i === undefined || a === undefined) return undefined;
  const subScore = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (subScore - 0.029) - 3.25 * (subScore - 0.02) ** 15 : 6.42 * subScore;
  const exploitability = 8.22 * attackVector * complexity * privileges * interaction;
  if (impact <= 0) return 0;
  return roundUp(Math.min(changed ? 1.08 * (impact + exploitability) : impact + exploitability, 10));
}

/** CVSS 3.1's Roundup: the smallest one-decimal number not below the input, free of float noise. */
function roundUp(value: number): number {
  const scaled = Math.round(value * 100_000);
  return scaled % 10_000 === 0 ? scaled / 100_000 : (Math.floor(scaled / 10_000) + 1) / 10;
}

/** The qualitative rating of a CVSS v3 score. */
export function severityOfScore(score: number): Severity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'UNKNOWN';
}
