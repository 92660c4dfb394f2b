import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { proxyFromConfig } from '../../proxy/from-config.js';
import { formatAccessLog, type AuthProxy } from '../../proxy/server.js';
import type { RepositoryAccess } from '../../repos/urls.js';
import { loadSecrets } from '../../config/secrets.js';
import { createEngine } from '../../engine/index.js';
import type { EngineName } from '../../engine/types.js';
import { isValidTag, runTag } from '../../plan/naming.js';
import { makePlan } from '../../plan/plan.js';
import { EventBus, type Reporter } from '../../report/events.js';
import { LiveReporter } from '../../report/live.js';
import { HtmlReportReporter } from '../../report/html-report.js';
import { LogFilesReporter } from '../../report/log-files.js';
import { JsonLinesReporter, PlainReporter } from '../../report/plain.js';
import { SummaryCollector, type RunSummary } from '../../report/summary.js';
import { executeBuildRun, type PushSettings } from '../../run/build-run.js';
import { isLoopbackRegistry, secretScrubber, writeRegistryAuth, type RegistryAuth } from '../../run/registry-auth.js';
import { cacheDir } from '../../util/cache-dir.js';
import { UsageError } from '../../util/errors.js';
import { collectList, collectRepeated, parseCount, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { chosenDistros, chosenRegexes, openWorkspace } from '../workspace.js';

export const RUNS_DIR = '.ci-builder/runs';

export function buildCommand(globals: () => GlobalOptions, signal: AbortSignal, setExitCode: (code: number) => void): CommandUnknownOpts {
  return new Command('build')
    .description('Build the selected images for each distro, one tag per run; push them with --push')
    .argument('[regex...]', 'select images whose name matches (unanchored, as kolla-build); their parents come along')
    .option('--distro <names>', 'distro(s) to build for, comma-separated (default: the configured default)', collectList)
    .option('--set <names>', 'named image set(s) from the config, e.g. overcloud,seed', collectList)
    .option('--images-dir <dir>', 'extra image tree; repeatable, later trees add or replace images', collectRepeated)
    .option('--skip-parents', 'do not build selected images that have children; reuse their existing image')
    .option('--tag <tag>', 'tag for every image of the run (default: <release>-<distro>-<version>-<UTC timestamp>)')
    .option('--engine <engine>', 'buildah or docker')
    .option('--threads <n>', 'images built at once', parsePositiveInteger)
    .option('--retries <n>', 'extra build attempts for a failed image', parseCount)
    .option('--push', 'push every image as soon as it is built')
    .option('--push-threads <n>', 'pushes at once', parsePositiveInteger)
    .option('--run-dir <dir>', `run folder (default: ${RUNS_DIR}/<tag>)`)
    .option('--auth-proxy', 'start the authenticating proxy on a free loopback port for the run and install from Pulp through it')
    .addHelpText('after', '\nExit status: 0 all built (and pushed); 1 an image, push or the base image failed; 2 bad input; 130 interrupted.')
    .action(async (regexes, options) => {
      const global = globals();
      const { loaded, catalog } = openWorkspace(global, options, {
        engine: options.engine,
        threads: options.threads,
        retries: options.retries,
        push_threads: options.pushThreads,
      });
      const { config } = loaded;
      const distros = chosenDistros(loaded, options.distro);
      if (distros.length > 1 && (options.tag !== undefined || options.runDir !== undefined)) {
        throw new UsageError('--tag and --run-dir name one run: give a single --distro with them');
      }
      if (options.tag !== undefined && !isValidTag(options.tag)) throw new UsageError(`invalid --tag ${JSON.stringify(options.tag)}: letters, digits, '_', '.', '-' (max 128)`);
      if (options.push && config.registry === '') throw new UsageError('--push needs a registry: set registry in the config or CI_BUILDER_REGISTRY');
      const regexList = chosenRegexes(loaded, regexes, options.set);
      const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
      const engine = createEngine(config.engine as EngineName);
      const startedAt = new Date();

      let auth: RegistryAuth | undefined;
      let proxy: AuthProxy | undefined;
      let accessLog: WriteStream | undefined;
      let repositoryAccess: RepositoryAccess | undefined;
      let worst = 0;
      try {
        if (options.push && secrets.registry_username && secrets.registry_password) {
          auth = await writeRegistryAuth(config.registry, secrets.registry_username, secrets.registry_password);
        }
        if (options.authProxy) {
          proxy = proxyFromConfig(loaded, secrets, { listen: { host: '127.0.0.1', port: 0 }, onAccess: (entry) => accessLog?.write(`${formatAccessLog(entry)}\n`) });
          repositoryAccess = { kind: 'proxy', origin: await proxy.start() };
          await proxy.waitForUpstream(60_000);
        }
        const scrub = secretScrubber([
          secrets.registry_password ?? '',
          `${secrets.registry_username ?? ''}:${secrets.registry_password ?? ''}`,
          secrets.pulp_password ?? '',
          `${secrets.pulp_username ?? ''}:${secrets.pulp_password ?? ''}`,
        ]);
        for (const distro of distros) {
          if (signal.aborted) break;
          const distroVersion = config.distros[distro]?.version ?? '';
          const tag = options.tag ?? runTag(config.release, distro, distroVersion, startedAt);
          const plan = await makePlan({
            config,
            catalog,
            distro,
            tag,
            engine: engine.name,
            selection: { regexes: regexList, skipParents: options.skipParents ?? false },
            ...(repositoryAccess ? { repositoryAccess } : {}),
          });
          const runDir = resolve(options.runDir ?? join(RUNS_DIR, tag));
          if (proxy) {
            await mkdir(runDir, { recursive: true });
            accessLog?.end();
            accessLog = createWriteStream(join(runDir, 'proxy-access.log'), { flags: 'a' });
          }
          const events = new EventBus(scrub);
          const summary = new SummaryCollector(plan.selection.unmatchedRegexes);
          events.attach(summary);
          events.attach(new LogFilesReporter(runDir));
          events.attach(new HtmlReportReporter(runDir, summary));
          events.attach(progressReporter(global));
          const push: PushSettings | undefined = options.push
            ? { threads: config.push_threads, attempts: config.push_attempts, backoffMs: 2000, insecure: config.registry_insecure ?? isLoopbackRegistry(config.registry), ...(auth ? { authFile: auth.file } : {}) }
            : undefined;
          const result = await executeBuildRun({
            plan,
            engine,
            runDir,
            cacheDir: join(cacheDir(), 'bootstrap'),
            threads: config.threads,
            retries: config.retries,
            events,
            summary,
            signal,
            ...(push ? { push } : {}),
          });
          if (!global.json) process.stderr.write(`${describeOutcome(result.summary, runDir)}\n`);
          worst = result.exitCode === 130 || worst === 130 ? 130 : Math.max(worst, result.exitCode);
        }
      } finally {
        await auth?.dispose();
        await proxy?.stop();
        accessLog?.end();
      }
      setExitCode(signal.aborted ? 130 : worst);
    });
}

/** JSON lines for tools; a live view on a terminal; plain timestamped lines anywhere else. */
function progressReporter(global: GlobalOptions): Reporter {
  if (global.json) return new JsonLinesReporter(process.stdout);
  if (process.stderr.isTTY && !global.quiet && !global.verbose && !process.env.CI) return new LiveReporter(process.stderr);
  return new PlainReporter(process.stderr, global.quiet ? 'quiet' : global.verbose ? 'verbose' : 'normal');
}

function describeOutcome(summary: RunSummary, runDir: string): string {
  const parts = [
    `${summary.built.length} built`,
    `${summary.reused.length} reused`,
    `${summary.failed.length} failed`,
    `${summary.skipped.length} skipped`,
    ...(summary.pushed.length + summary.push_failed.length > 0 ? [`${summary.pushed.length} pushed`, `${summary.push_failed.length} push failed`] : []),
  ];
  return `${summary.interrupted ? 'interrupted' : 'done'} ${summary.tag}: ${parts.join(', ')}; summary ${join(runDir, 'summary.json')}`;
}
