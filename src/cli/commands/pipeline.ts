import { Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { regexesOfSets } from '../../catalog/sets.js';
import { loadSecrets } from '../../config/secrets.js';
import { createEngine } from '../../engine/index.js';
import { runStamp } from '../../plan/naming.js';
import type { SetOutcome } from '../../pipeline/exit-reasons.js';
import { runPipeline, type PipelineSet } from '../../pipeline/pipeline.js';
import { RUNS_DIR } from '../../run/build-runs.js';
import { readAllowList, type AllowList } from '../../scan/allow-list.js';
import type { Scanner } from '../../scan/scan-image.js';
import { assertTrivyRuns } from '../../scan/trivy.js';
import { loadVulnerabilityDatabase } from '../../scan/vulnerability-db.js';
import { UsageError } from '../../util/errors.js';
import { checkOutputDir } from '../../util/output-path.js';
import { BUILDERS_HELP, chosenBuilders } from '../builders.js';
import { collectList, collectRepeated, parseCount, parsePositiveInteger, templateOverrideOption } from '../options.js';
import { withImageSelection, type GlobalOptions } from '../options.js';
import { shardRequest, withShardOptions } from '../shard-options.js';
import { chosenDistros, openWorkspace } from '../workspace.js';
import { chooseProgressReporter } from '../../report/choose.js';

const packageJson = new URL('../../../package.json', import.meta.url);
const toolVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

/** The set whose regexes positional regexes replace, as `kayobe overcloud container image build <regexes>`. */
const REGEX_SET = 'overcloud';

export function pipelineCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const description =
    'The whole CI run: for every distro and set under one timestamp, build each image, scan it as soon as ' +
    'it exists and push it as soon as its verdict allows (clean and dirty; critical only with --push-dirty)';
  return withShardOptions(withImageSelection(new Command('pipeline').description(description)))
    .addOption(templateOverrideOption())
    .option('--engine <engine>', 'buildah or docker')
    .option('--builders <urls>', BUILDERS_HELP, collectList)
    .option('--threads <n>', 'images built (and scanned) at once', parsePositiveInteger)
    .option('--retries <n>', 'extra build attempts for a failed image', parseCount)
    .option('--push', 'push each image once its scan allows it')
    .option('--push-dirty', 'push critical images too (they are held otherwise, and the pipeline fails)')
    .option('--push-threads <n>', 'pushes at once', parsePositiveInteger)
    .option('--auth-proxy', 'install from Pulp through the authenticating proxy on a free loopback port')
    .option(
      '--package-cache',
      "reach every repository through the run's caching proxy (default: proxy.package_cache; on, but off for --kolla-dir)",
    )
    .option('--no-package-cache', 'reach plain mirrors directly, each image downloading its packages itself')
    .option(
      '--timestamp <YYYYMMDDTHHMMSS>',
      'UTC timestamp of every tag (default: now); CI jobs of one pipeline share it',
      parseTimestamp,
    )
    .option(
      '--artifacts <dir>',
      `folder to upload: run folders, scan reports, lists (default: ${RUNS_DIR}/<release>-<UTC timestamp>)`,
    )
    .option(
      '--osv-db <path>',
      'OSV dump (all.zip, record folder) or Debian tracker JSON; repeatable (config: scan.osv_db)',
      collectRepeated,
    )
    .addOption(
      new Option('--scanner <scanner>', 'osv (built in) or trivy (config: scan.scanner, default osv)').choices([
        'osv',
        'trivy',
      ] as const),
    )
    .option('--ignore-unfixed', 'vulnerabilities without a fixed version do not count (config: scan.ignore_unfixed)')
    .option(
      '--allowed-vulnerabilities <file>',
      'YAML: global_allowed_vulnerabilities, <image>_allowed_vulnerabilities (config: scan.allowed_vulnerabilities)',
    )
    .addHelpText(
      'after',
      [
        '',
        `Sets default to overcloud,seed, built in that order for each distro; positional regexes replace the`,
        `${REGEX_SET} set's regexes (the seed set keeps its own), as Kayobe's overcloud and seed builds.`,
        'Every tag is <release>-<distro>-<version>-<timestamp> with one timestamp for the whole pipeline.',
        '',
        'Artifacts: <distro>/<set>/ (logs, summary.json, report.html, scan/<image>.json and .cdx.json),',
        'scan-summary.csv, clean-images.txt, dirty-images.txt, critical-images.txt, push-attempt-images.txt,',
        'push-failed-images.txt and pipeline-summary.json.',
        '',
        'Exit status: 0 all good; 1 a distro built nothing, a build, scan or push failed, or a critical image',
        'was found without --push-dirty (one line on stderr per reason); 2 bad input; 130 interrupted.',
      ].join('\n'),
    )
    .action(async (regexes, options) => {
      const startedAt = options.timestamp ?? new Date();
      const global = globals();
      const { loaded, catalog } = openWorkspace(global, options, {
        engine: options.engine,
        threads: options.threads,
        retries: options.retries,
        push_threads: options.pushThreads,
      });
      const { config } = loaded;
      const artifacts = options.artifacts ?? join(RUNS_DIR, `${config.release}-${runStamp(startedAt)}`);
      checkOutputDir(artifacts, '--artifacts');
      const distros = chosenDistros(loaded, options.distro);
      const setNames = [...new Set([...(options.set ?? []), ...(options.profile ?? [])])];
      const sets: PipelineSet[] = (setNames.length > 0 ? setNames : [REGEX_SET, 'seed']).map((name) => ({
        name,
        regexes: name === REGEX_SET && regexes.length > 0 ? regexes : regexesOfSets(config.sets, [name]),
      }));
      if (options.push && config.registry === '')
        throw new UsageError('--push needs a registry: set registry in the config or CI_BUILDER_REGISTRY');
      const shard = shardRequest(options, {
        loaded,
        catalog,
        distros,
        // One partition over every set: a parent two sets share has one owner.
        regexes: sets.flatMap((set) => set.regexes),
        push: options.push ?? false,
        skipParents: options.skipParents ?? false,
        oneTag: { flag: '--timestamp', given: options.timestamp !== undefined },
      });
      const scannerKind = options.scanner ?? config.scan.scanner;
      const osvDb = options.osvDb ? options.osvDb.map((path) => resolve(path)) : loaded.scanFiles.osvDb;
      if (scannerKind === 'osv' && osvDb.length === 0)
        throw new UsageError('the osv scanner needs a database: --osv-db PATH or scan.osv_db (or use --scanner trivy)');
      const allowFile = options.allowedVulnerabilities ?? loaded.scanFiles.allowedVulnerabilities;
      const allowList: AllowList = allowFile ? readAllowList(allowFile) : new Map();
      if (scannerKind === 'trivy') await assertTrivyRuns();
      const scanner: Scanner =
        scannerKind === 'osv'
          ? { kind: 'osv', database: await loadVulnerabilityDatabase(osvDb, signal) }
          : { kind: 'trivy' };

      const builders = chosenBuilders(config, options.builders, options);
      const result = await runPipeline(
        {
          loaded,
          catalog,
          secrets: loadSecrets(loaded.secretsFile, loaded.readYaml),
          engine: builders?.[0]?.engine ?? createEngine(config.engine, { url: config.engine_url }),
          ...(builders ? { builders } : {}),
          distros,
          sets,
          skipParents: options.skipParents ?? false,
          push: options.push ?? false,
          pushDirty: options.pushDirty ?? false,
          authProxy: options.authProxy ?? false,
          ...(options.packageCache !== undefined ? { packageCache: options.packageCache } : {}),
          artifactsDir: resolve(artifacts),
          startedAt,
          scan: { scanner, ignoreUnfixed: options.ignoreUnfixed ?? config.scan.ignore_unfixed, allowList },
          toolVersion,
          progress: () => chooseProgressReporter(global),
          signal,
          ...(shard ? { shard } : {}),
        },
        (outcome) => global.json || process.stderr.write(`${describeSet(outcome)}\n`),
      );
      for (const reason of result.reasons) process.stderr.write(`ci-builder: pipeline failed: ${reason}\n`);
      if (!global.json && !global.quiet) process.stderr.write(`artifacts in ${resolve(artifacts)}\n`);
      setExitCode(signal.aborted ? 130 : result.exitCode);
    });
}

/** A tag's timestamp as the tags spell it, UTC: 20240903T113235. */
function parseTimestamp(value: string): Date {
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(value);
  const at = parts ? new Date(`${parts[1]}-${parts[2]}-${parts[3]}T${parts[4]}:${parts[5]}:${parts[6]}Z`) : undefined;
  if (at === undefined || Number.isNaN(at.getTime()) || runStamp(at) !== value) {
    throw new InvalidArgumentError('expected a UTC timestamp YYYYMMDDTHHMMSS, e.g. 20240903T113235');
  }
  return at;
}

function describeSet(outcome: SetOutcome): string {
  const where = `${outcome.distro} ${outcome.set} ${outcome.tag}`;
  const summary = outcome.summary;
  if (summary === undefined) return `${where}: not run: ${outcome.error ?? 'unknown'}`;
  const verdicts = ['clean', 'dirty', 'critical'].map(
    (verdict) => `${summary.scanned.filter((scan) => scan.verdict === verdict).length} ${verdict}`,
  );
  const parts = [
    `${summary.built.length} built`,
    `${summary.reused.length} reused`,
    `${summary.failed.length} failed`,
    ...verdicts,
    `${summary.pushed.length} pushed`,
    `${summary.held.length} held`,
  ];
  return `${summary.interrupted ? 'interrupted' : 'done'} ${where}: ${parts.join(', ')}; folder ${outcome.runDir}`;
}
