import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { cycloneDxJson } from './sbom.js';
import { SEVERITIES, type Finding, type Verdict } from './types.js';
import type { ImageScan } from './scan-image.js';

export const VERDICTS: readonly Verdict[] = ['clean', 'dirty', 'critical'];

const CSV_HEADER = [
  'Image',
  'PkgName',
  'InstalledVersion',
  'VulnerabilityID',
  'FixedVersion',
  'PrimaryURL',
  'Severity',
  'ComparedVersion',
  'ComparedWith',
];

const severityRank = (finding: { severity: (typeof SEVERITIES)[number] }) => SEVERITIES.indexOf(finding.severity);

/**
 * The version an advisory was judged against and whose it was (`2:1.02.185-2` installed, compared as
 * `2.03.16-2` of `source lvm2`), so a fixed version below the installed one reads right; empty when
 * another scanner made the finding.
 */
function comparedColumns(finding: Finding): string[] {
  const { compared } = finding;
  return compared ? [compared.version, `${compared.kind} ${compared.package}`] : ['', ''];
}

/**
 * A cell a spreadsheet shows as text: quoted, and one that would start a formula (=, +, -, @,
 * a tab or a carriage return: a package name or a URL comes from the image or the database)
 * gets a leading apostrophe, as OWASP's advice on CSV injection has it.
 */
const csvField = (value: string) => `"${(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value).replace(/"/g, '""')}"`;

/** The findings that count, one row each, worst first, as the operators' summary CSV (without kernel packages). */
export function summaryCsv(scans: ReadonlyArray<Pick<ImageScan, 'reference' | 'findings'>>): string {
  const rows = scans.flatMap((scan) =>
    scan.findings
      .filter((finding) => finding.status === 'counted')
      .sort((a, b) => severityRank(b) - severityRank(a) || `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`))
      .map((f) => [scan.reference, f.package, f.installed, f.id, f.fixed, f.url, f.severity, ...comparedColumns(f)]),
  );
  return [CSV_HEADER, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

export function countsOf(scan: ImageScan): Record<'critical' | 'high' | 'allowed' | 'unfixed', number> {
  const counted = scan.findings.filter((finding) => finding.status === 'counted' || finding.status === 'kernel');
  return {
    critical: counted.filter((finding) => finding.severity === 'CRITICAL').length,
    high: counted.filter((finding) => finding.severity === 'HIGH').length,
    allowed: scan.findings.filter((finding) => finding.status === 'allowed').length,
    unfixed: scan.findings.filter((finding) => finding.status === 'unfixed').length,
  };
}

/** The per-image report (without the whole inventory: that is the SBOM's job). */
export function imageReport(scan: ImageScan): Record<string, unknown> {
  return {
    image: scan.reference,
    name: scan.name,
    scanner: scan.scanner,
    verdict: scan.verdict,
    os: scan.inventory.os ?? null,
    digest: scan.digest ?? null,
    packages: scan.inventory.packages.length,
    counts: countsOf(scan),
    source: scan.source,
    seconds: scan.seconds,
    findings: scan.findings,
  };
}

/** `<dir>/<image>.json` (the report) and `<dir>/<image>.cdx.json` (the SBOM) of one image. */
export async function writeImageScan(dir: string, scan: ImageScan, toolVersion: string): Promise<void> {
  await writeFileAtomic(join(dir, `${scan.name}.json`), `${JSON.stringify(imageReport(scan), null, 2)}\n`);
  const subject = {
    reference: scan.reference,
    name: scan.name,
    toolVersion,
    ...(scan.digest ? { digest: scan.digest } : {}),
  };
  await writeFileAtomic(join(dir, `${scan.name}.cdx.json`), await cycloneDxJson(scan.inventory, subject));
}

/**
 * Writes `<out>/scan/`: `<image>.json`, `<image>.cdx.json`, `summary.csv` and the
 * `clean-images.txt`, `dirty-images.txt`, `critical-images.txt` lists; each file whole or not at all.
 */
export async function writeScanOutputs(
  outDir: string,
  scans: readonly ImageScan[],
  toolVersion: string,
): Promise<string> {
  const dir = join(outDir, 'scan');
  for (const scan of scans) await writeImageScan(dir, scan, toolVersion);
  await writeFileAtomic(join(dir, 'summary.csv'), summaryCsv(scans));
  for (const verdict of VERDICTS) {
    const listed = scans.filter((scan) => scan.verdict === verdict).map((scan) => `${scan.reference}\n`);
    await writeFileAtomic(join(dir, `${verdict}-images.txt`), listed.join(''));
  }
  return dir;
}
