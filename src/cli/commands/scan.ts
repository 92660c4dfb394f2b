import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { countsOf, imageReport, scanImages, type ImageScan } from '../../app/scan.js';
import { collectRepeated, languagePackagesOption, type GlobalOptions } from '../options.js';
import { loadConfigFor } from '../workspace.js';

const packageJson = new URL('../../../package.json', import.meta.url);
const toolVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

function table(scans: readonly ImageScan[]): string {
  const rows = [['IMAGE', 'VERDICT', 'CRITICAL', 'HIGH', 'ALLOWED', 'UNFIXED', 'PACKAGES', 'SECONDS']];
  for (const scan of scans) {
    const counts = countsOf(scan);
    const seconds = scan.seconds.export + scan.seconds.inventory + scan.seconds.match;
    const numbers = [counts.critical, counts.high, counts.allowed, counts.unfixed, scan.inventory.packages.length];
    rows.push([scan.reference, scan.verdict, ...numbers.map(String), seconds.toFixed(1)]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}

export function scanCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  return new Command('scan')
    .description(
      'Read the package inventory of built images (dpkg, rpm, Python), match it against an OSV database, ' +
        'and classify each image clean, dirty (HIGH) or critical',
    )
    .argument('<image...>', 'image references in the engine')
    .option('--osv-db <path>', 'OSV dump (all.zip, record folder) or Debian tracker JSON; repeatable', collectRepeated)
    .addOption(
      new Option('--scanner <scanner>', 'osv (built in) or trivy (a trivy command on PATH)')
        .choices(['osv', 'trivy'] as const)
        .default('osv' as const),
    )
    .option('--engine <engine>', 'buildah, docker or podman (default: from the config)')
    .option('--out <dir>', 'write <dir>/scan/: per-image reports and SBOMs, summary.csv, the verdict lists', '.')
    .option('--ignore-unfixed', 'vulnerabilities without a fixed version do not count')
    .addOption(languagePackagesOption())
    .option('--allowed-vulnerabilities <file>', 'YAML: global_allowed_vulnerabilities, <image>_allowed_vulnerabilities')
    .addHelpText('after', '\nExit status: 0 no image is critical; 1 one is, or could not be read; 2 bad input.')
    .action(async (images, options) => {
      const global = globals();
      const outcome = await scanImages({
        ...options,
        loaded: loadConfigFor(global, options.engine),
        images,
        ignoreUnfixed: options.ignoreUnfixed ?? false,
        out: options.out,
        toolVersion,
        signal,
      });
      if (outcome === undefined) return;
      const { scans, dir, critical } = outcome;
      if (global.json) process.stdout.write(`${JSON.stringify(scans.map(imageReport), null, 2)}\n`);
      else if (!global.quiet) process.stdout.write(table(scans));
      const line = `${scans.length} image(s) scanned, ${critical} critical; reports in ${dir}\n`;
      if (!global.json) process.stderr.write(line);
      setExitCode(critical > 0 ? 1 : 0);
    });
}
