import { runProcess } from '../util/process.js';
import { UsageError, WorkFailedError } from '../util/errors.js';
import { isPlainObject } from '../util/plain-object.js';
import { SEVERITIES, type Finding, type Severity } from './types.js';

/** The part of trivy's JSON report (SchemaVersion 2) that findings come from. */
interface TrivyReport {
  SchemaVersion?: number;
  Results?: Array<{
    Target?: string;
    Class?: string;
    Type?: string;
    Vulnerabilities?: Array<{
      VulnerabilityID?: string;
      PkgName?: string;
      InstalledVersion?: string;
      FixedVersion?: string;
      Severity?: string;
      PrimaryURL?: string;
    }>;
  }>;
}

const PACKAGE_TYPES: Record<string, string> = {
  debian: 'deb',
  ubuntu: 'deb',
  rocky: 'rpm',
  redhat: 'rpm',
  centos: 'rpm',
  alma: 'rpm',
  'python-pkg': 'pypi',
  pip: 'pypi',
};

const isSeverity = (value: string | undefined): value is Severity =>
  (SEVERITIES as readonly string[]).includes(value ?? '');

/** Findings from a trivy JSON report; a result without `Vulnerabilities` has none. */
export function parseTrivyReport(text: string, where: string): Finding[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WorkFailedError(`${where}: trivy printed no JSON report (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed) || parsed.SchemaVersion !== 2) {
    throw new WorkFailedError(`${where}: not a trivy JSON report of schema version 2`);
  }
  const report = parsed as TrivyReport;
  const findings: Finding[] = [];
  for (const result of report.Results ?? []) {
    for (const vulnerability of result.Vulnerabilities ?? []) {
      if (!vulnerability.VulnerabilityID || !vulnerability.PkgName) continue;
      findings.push({
        id: vulnerability.VulnerabilityID,
        aliases: [],
        package: vulnerability.PkgName,
        packageType: PACKAGE_TYPES[result.Type ?? ''] ?? result.Type ?? '',
        installed: vulnerability.InstalledVersion ?? '',
        fixed: vulnerability.FixedVersion ?? '',
        severity: isSeverity(vulnerability.Severity) ? vulnerability.Severity : 'UNKNOWN',
        url: vulnerability.PrimaryURL ?? '',
        source: 'trivy',
      });
    }
  }
  return findings;
}

/**
 * Runs `trivy` from PATH on an exported OCI layout (so it reads what any engine built) and reads its
 * JSON. Allow-lists and --ignore-unfixed are applied by the verdict, the same for both scanners.
 */
export async function trivyFindings(
  layoutDir: string,
  reference: string,
  signal?: AbortSignal,
  command = 'trivy',
): Promise<Finding[]> {
  const args = ['image', '--quiet', '--scanners', 'vuln', '--format', 'json', '--input', layoutDir];
  let result;
  try {
    result = await runProcess(command, args, { captureStdout: true, signal });
  } catch {
    throw new UsageError(`--scanner trivy: no ${command} command on PATH`);
  }
  if (result.exitCode !== 0) {
    const why = `${result.exitCode ?? result.signal}: ${result.stderrTail.slice(-3).join(' ')}`;
    throw new WorkFailedError(`${reference}: trivy exited with ${why}`);
  }
  return parseTrivyReport(result.stdout, `${reference}: trivy`);
}

/** Fails early, before any image is exported, when there is no trivy to run. */
export async function assertTrivyRuns(command = 'trivy'): Promise<void> {
  const result = await runProcess(command, ['--version']).catch(() => undefined);
  if (result?.exitCode !== 0) throw new UsageError(`--scanner trivy: no ${command} command on PATH`);
}
