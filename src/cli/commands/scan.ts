import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine } from '../../engine/index.js';
import { readAllowList, type AllowList } from '../../scan/allow-list.js';
import { imageNameOf } from '../../scan/image-reference.js';
import type { LayerCache } from '../../scan/layer-files.js';
import { scanImage, type ImageScan, type Scanner } from '../../scan/scan-image.js';
import { countsOf, imageReport, writeScanOutputs } from '../../scan/scan-outputs.js';
import { assertTrivyRuns } from '../../scan/trivy.js';
import { loadVulnerabilityDatabase } from '../../scan/vulnerability-db.js';
import { UsageError, WorkFailedError } from '../../util/errors.js';
import { checkOutputDir } from '../../util/output-path.js';
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
      const names = images.map(imageNameOf);
      const duplicate = names.find((name, index) => names.indexOf(name) !== index);
      if (duplicate) throw new UsageError(`two references name the image ${duplicate}: their reports would collide`);
      if (options.scanner === 'osv' && !options.osvDb?.length) {
        throw new UsageError('--osv-db PATH is needed for the osv scanner (or use --scanner trivy)');
      }
      // Before any image is scanned: a folder that cannot be written is bad input, not a failure at the end.
      const outDir = checkOutputDir(options.out, '--out');
      const allowFile = options.allowedVulnerabilities;
      const allowList: AllowList = allowFile ? readAllowList(allowFile) : new Map();
      const loaded = loadConfigFor(global, { engine: options.engine });
      const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
      for (const image of images) {
        const present = await engine.exists(image);
        if (!present.ok) throw new WorkFailedError(`${image}: ${present.failure.message}`);
        if (!present.value) throw new UsageError(`${image}: no such image in ${engine.name}'s storage`);
      }
      if (options.scanner === 'trivy') await assertTrivyRuns();
      const scanner: Scanner =
        options.scanner === 'osv'
          ? {
              kind: 'osv',
              database: await loadVulnerabilityDatabase(
                (options.osvDb ?? []).map((path) => resolve(path)),
                signal,
              ),
            }
          : { kind: 'trivy' };
      const languagePackages = options.languagePackages ?? loaded.config.scan.language_packages;
      const scans: ImageScan[] = [];
      const layerCache: LayerCache = new Map();
      for (const image of images) {
        if (signal.aborted) return;
        const ignoreUnfixed = options.ignoreUnfixed ?? false;
        const settings = { engine, scanner, ignoreUnfixed, languagePackages, allowList, layerCache, signal };
        const scanned = await scanImage(image, settings);
        if (!scanned.ok) throw new WorkFailedError(scanned.failure);
        scans.push(scanned.value);
      }
      const dir = await writeScanOutputs(outDir, scans, toolVersion);
      if (global.json) process.stdout.write(`${JSON.stringify(scans.map(imageReport), null, 2)}\n`);
      else if (!global.quiet) process.stdout.write(table(scans));
      const critical = scans.filter((scan) => scan.verdict === 'critical').length;
      const line = `${scans.length} image(s) scanned, ${critical} critical; reports in ${dir}\n`;
      if (!global.json) process.stderr.write(line);
      setExitCode(critical > 0 ? 1 : 0);
    });
}
