import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { loadSecrets } from '../../config/secrets.js';
import { RegistryClient, RegistryError } from '../../registry/client.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import { isLoopbackRegistry } from '../../run/registry-auth.js';
import { deployableImages, matchesDistro } from '../../tags/catalog-images.js';
import { checkImages } from '../../tags/check.js';
import { DEFAULT_KEY } from '../../tags/naming.js';
import { promoteImages, type PromotionOutcome } from '../../tags/promote.js';
import { referencedImages, repositoryOf } from '../../tags/registry-images.js';
import { imageTags, type ImageTag } from '../../tags/resolve.js';
import { latestRun, runSummaries } from '../../tags/run-sources.js';
import { readRollout, type RunRollout } from '../../tags/runs.js';
import { DEFAULT_TAGS_FILE, distroKeys, readTagsFile, TAGS_VARIABLE } from '../../tags/tags-file.js';
import { planUpdate, type UpdatePlan } from '../../tags/update.js';
import { writeTagChanges } from '../../tags/write.js';
import { UsageError, WorkFailedError } from '../../util/errors.js';
import { Pace } from '../../util/pace.js';
import { collectList, collectRepeated, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { openWorkspace } from '../workspace.js';

const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

interface ResolveOptions {
  file?: string;
  distro?: string[];
  imagesDir?: string[];
}

/** The options every subcommand that resolves images shares. */
function resolvingCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option('--file <file>', `the tags file (default: ${DEFAULT_TAGS_FILE})`)
    .option('--distro <names>', 'only these distros (rocky or rocky-9), comma-separated', collectList)
    .option('--images-dir <dir>', 'extra image tree; repeatable', collectRepeated);
}

/** Every deployable image of the trees with its effective tag, per distro key of the file. */
function resolveImageTags(global: GlobalOptions, options: ResolveOptions): { loaded: LoadedConfig; rows: ImageTag[] } {
  const file = readTagsFile(resolve(options.file ?? DEFAULT_TAGS_FILE));
  const { loaded, catalog } = openWorkspace(global, { imagesDir: options.imagesDir });
  const inFile = distroKeys(file.tags);
  const distros = inFile.filter((distro) => matchesDistro(distro, options.distro ?? []));
  if (distros.length === 0) {
    const asked = (options.distro ?? []).join(',');
    throw new UsageError(`${file.path}: no distro matches --distro ${asked} (it has ${inFile.join(', ')})`);
  }
  const rows = distros.flatMap((distro) => {
    const images = deployableImages(catalog, loaded.config, distro);
    return imageTags(file.tags, images, [distro]).rows;
  });
  const used = new Set(rows.flatMap((row) => row.from));
  const unused = Object.keys(file.tags).filter((key) => key !== DEFAULT_KEY && !used.has(key));
  if (unused.length > 0 && !global.quiet) {
    const what = `${unused.length} key(s) of ${TAGS_VARIABLE} used by no image of the image trees`;
    process.stderr.write(`warning: ${file.path}: ${what}: ${unused.join(', ')}\n`);
  }
  return { loaded, rows };
}

/**
 * A client for the configured registry with the secrets file's credentials, known to answer;
 * undefined when the signal stopped it first. Every request of the client stops with the signal.
 */
async function connectedClient(loaded: LoadedConfig, signal: AbortSignal): Promise<RegistryClient | undefined> {
  const { registry, registry_token_hosts: tokenHosts } = loaded.config;
  if (registry === '') throw new UsageError('no registry configured (registry in the config): nothing to ask');
  const { registry_username: username, registry_password: password } = loadSecrets(loaded.secretsFile, loaded.readYaml);
  const credentials = username && password ? { username, password, tokenHosts } : undefined;
  const insecure = loaded.config.registry_insecure ?? isLoopbackRegistry(registry);
  const client = new RegistryClient(registry, credentials, { insecure, signal });
  const answered = await client.ping().then(
    () => true,
    (error: unknown) => {
      if (signal.aborted) return false;
      throw registryFailure(registry, error);
    },
  );
  return answered ? client : undefined;
}

/** A registry that refuses or cannot be reached is a failure of the work (exit 1), said in one line. */
function registryFailure(registry: string, error: unknown): unknown {
  return error instanceof RegistryError ? new WorkFailedError(`registry ${registry}: ${error.message}`) : error;
}

function namespaceOption(value: string, flag: string): string {
  if (!NAMESPACE.test(value)) {
    const expected = 'expected a lower-case namespace such as stackhpc-dev';
    throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: ${expected}`);
  }
  return value;
}

function reportUpdate(global: GlobalOptions, path: string, plan: UpdatePlan, dryRun: boolean): void {
  if (global.json) {
    const written = !dryRun && plan.changes.length > 0;
    const report = { file: path, written, changes: plan.changes, still_overriding: plan.stillOverriding };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const change of plan.changes) {
    process.stdout.write(`${change.key} ${change.distro}: ${change.from ?? '(new)'} -> ${change.to}\n`);
  }
  if (plan.stillOverriding.length > 0 && !global.quiet) {
    const keys = plan.stillOverriding.map((entry) => `${entry.key} (${entry.distro})`).join(', ');
    process.stderr.write(`note: these keys still override the new default: ${keys}\n`);
  }
  const count = plan.changes.length;
  const verb = count === 0 ? 'nothing to change' : dryRun ? `would change ${count} tag(s)` : `changed ${count} tag(s)`;
  process.stderr.write(`${verb} in ${path}\n`);
}

export function tagsCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: (code: number) => void,
): CommandUnknownOpts {
  const tags = new Command('tags').description(
    `Roll out image tags: ${DEFAULT_TAGS_FILE} (update, list), the registry (check, promote)`,
  );

  tags.addCommand(
    new Command('update')
      .description(
        "Write a run's tag into the tags file: a build of every image sets openstack for its distro, " +
          "a partial build sets the keys of the images it built; a pipeline's sets of a distro count as one run",
      )
      .option(
        '--run <dir>',
        'a run folder, a pipeline artifacts folder, a folder of run folders, or a summary.json; repeatable ' +
          `(default: the newest run in ${RUNS_DIR})`,
        collectRepeated,
      )
      .option('--file <file>', `the tags file (default: ${DEFAULT_TAGS_FILE})`)
      .option('--dry-run', 'print the changes without writing the file')
      .addHelpText(
        'after',
        '\nComments, order and formatting of the file are kept, byte for byte (Latin-1 too); only changed values' +
          ' (and added keys) differ. A symbolic link is written through to its target; mode and owner are kept.' +
          '\nExit status: 0 written (or nothing to change); 2 bad input (nothing written); 130 interrupted' +
          ' (nothing written).',
      )
      .action(async (options) => {
        const global = globals();
        const file = readTagsFile(resolve(options.file ?? DEFAULT_TAGS_FILE));
        const runs = options.run && options.run.length > 0 ? options.run : [latestRun(resolve(RUNS_DIR))];
        // Interrupted, nothing is written: the exit status says so (130).
        const pace = new Pace(signal);
        let plan: UpdatePlan;
        const rollouts: RunRollout[] = [];
        try {
          for (const source of await runSummaries(runs, signal)) {
            await pace.step();
            rollouts.push(readRollout(source));
          }
          plan = await planUpdate(file.tags, rollouts, pace);
          await writeTagChanges(file, plan.changes, options.dryRun ?? false, pace);
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
        for (const rollout of rollouts.filter((run) => !run.pushed && !global.quiet)) {
          const where = `warning: ${rollout.label}`;
          process.stderr.write(`${where}: the run did not push; ${rollout.tag} is in no registry\n`);
        }
        reportUpdate(global, file.path, plan, options.dryRun ?? false);
      }),
  );

  tags.addCommand(
    resolvingCommand(
      'list',
      "Each image's effective tag per distro: its container key, " + 'else the longest service prefix, else openstack',
    )
      .addHelpText('after', '\nOne line per image, distro and tag: "image distro tag".')
      .action((options) => {
        const global = globals();
        const { rows } = resolveImageTags(global, options);
        if (global.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(rows.map((row) => `${row.image} ${row.distro} ${row.tag}\n`).join(''));
      }),
  );

  tags.addCommand(
    resolvingCommand('check', 'Ask the registry for every image:tag the tags file references; list the missing ones')
      .option('--namespace <ns>', 'namespace to look in (default: namespace from the config)')
      .option('--concurrency <n>', 'requests at once', parsePositiveInteger, 8)
      .addHelpText(
        'after',
        '\nExit status: 0 every tag exists; 1 a tag is missing or could not be checked;' + ' 2 bad input.',
      )
      .action(async (options) => {
        const global = globals();
        const asked = options.namespace === undefined ? undefined : namespaceOption(options.namespace, '--namespace');
        const { loaded, rows } = resolveImageTags(global, options);
        const { registry, namespace, image_prefix: prefix } = loaded.config;
        const client = await connectedClient(loaded, signal);
        if (client === undefined) return setExitCode(130);
        const repository = (image: string) => repositoryOf(asked ?? namespace, prefix, image);
        const checking = checkImages(client, referencedImages(rows), repository, options.concurrency);
        const checked = await checking.catch((error: unknown) => {
          throw registryFailure(registry, error);
        });
        const missing = checked.filter((image) => image.state === 'missing');
        const unknown = checked.filter((image) => image.state === 'unknown');
        if (global.json) {
          process.stdout.write(`${JSON.stringify({ checked: checked.length, missing, unknown }, null, 2)}\n`);
        } else {
          for (const image of missing) {
            process.stdout.write(`missing ${image.repository}:${image.tag} (${image.distros.join(', ')})\n`);
          }
          for (const image of unknown) {
            process.stdout.write(`unknown ${image.repository}:${image.tag}: ${image.detail ?? ''}\n`);
          }
        }
        const notChecked = unknown.length > 0 ? `, ${unknown.length} not checked` : '';
        const counted = `${checked.length} image tag(s) checked in ${registry}`;
        process.stderr.write(`${counted}: ${missing.length} missing${notChecked}\n`);
        setExitCode(missing.length + unknown.length > 0 ? 1 : 0);
      }),
  );

  tags.addCommand(
    resolvingCommand(
      'promote',
      'Copy every image:tag the tags file references from one namespace to another, ' +
        'by blob mount and manifest put (no layer moves)',
    )
      .requiredOption('--from <ns>', 'namespace the images were pushed to (e.g. the dev namespace)')
      .requiredOption('--to <ns>', 'namespace to release them into')
      .option('--concurrency <n>', 'images copied at once', parsePositiveInteger, 4)
      .addHelpText(
        'after',
        '\nAn image already in the target with the same digest is not copied.' +
          '\nExit status: 0 all copied or present; 1 an image could not be copied; 2 bad input; 130 interrupted' +
          ' (what was copied stays; the images not copied are listed as interrupted).',
      )
      .action(async (options) => {
        const global = globals();
        const from = namespaceOption(options.from, '--from');
        const to = namespaceOption(options.to, '--to');
        if (from === to) throw new UsageError('--from and --to name the same namespace');
        const { loaded, rows } = resolveImageTags(global, options);
        const { registry, image_prefix: prefix } = loaded.config;
        const client = await connectedClient(loaded, signal);
        if (client === undefined) return setExitCode(130);
        const repositories = {
          from: (image: string) => repositoryOf(from, prefix, image),
          to: (image: string) => repositoryOf(to, prefix, image),
        };
        const promoting = promoteImages(client, referencedImages(rows), repositories, options.concurrency, signal);
        const results = await promoting.catch((error: unknown) => {
          throw registryFailure(registry, error);
        });
        const count = (outcome: PromotionOutcome) => results.filter((result) => result.outcome === outcome).length;
        const totals = {
          copied: count('copied'),
          already_present: count('already-present'),
          failed: count('failed'),
          interrupted: count('interrupted'),
        };
        if (global.json) process.stdout.write(`${JSON.stringify({ ...totals, images: results }, null, 2)}\n`);
        else {
          for (const result of results) {
            const what = `${result.to}:${result.tag}`;
            const line =
              result.outcome === 'failed'
                ? `failed ${what}: ${result.detail ?? ''}`
                : [result.outcome, what, result.digest].filter((part) => part !== undefined).join(' ');
            process.stdout.write(`${line}\n`);
          }
        }
        const stopped = totals.interrupted > 0 ? `, ${totals.interrupted} interrupted` : '';
        const outcome = `${totals.copied} copied, ${totals.already_present} already present, ${totals.failed} failed`;
        process.stderr.write(`${from} -> ${to}: ${outcome}${stopped}\n`);
        setExitCode(signal.aborted ? 130 : totals.failed > 0 ? 1 : 0);
      }),
  );
  return tags;
}
