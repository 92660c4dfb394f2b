import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { loadSecrets } from '../../config/secrets.js';
import { RegistryClient, RegistryError } from '../../registry/client.js';
import { RUNS_DIR } from '../../run/build-runs.js';
import { isLoopbackRegistry } from '../../run/registry-auth.js';
import { deployableImages, matchesDistro } from '../../tags/catalog-images.js';
import { checkImages } from '../../tags/check.js';
import { DEFAULT_KEY } from '../../tags/naming.js';
import { promoteImages } from '../../tags/promote.js';
import { referencedImages, repositoryOf, type ReferencedImage } from '../../tags/registry-images.js';
import { imageTags, type ImageTag } from '../../tags/resolve.js';
import { latestRun, readRollout, summaryFiles } from '../../tags/runs.js';
import { DEFAULT_TAGS_FILE, distroKeys, readTagsFile, TAGS_VARIABLE } from '../../tags/tags-file.js';
import { planUpdate } from '../../tags/update.js';
import { writeTagChanges } from '../../tags/write.js';
import { UsageError, WorkFailedError } from '../../util/errors.js';
import { collectList, collectRepeated, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { openWorkspace } from '../workspace.js';

const fileOption = ['--file <file>', `the tags file (default: ${DEFAULT_TAGS_FILE})`] as const;
const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

interface ResolveOptions {
  file?: string;
  distro?: string[];
  imagesDir?: string[];
}

/** Every image of the trees with its effective tag per distro key of the file. */
function resolveImageTags(global: GlobalOptions, options: ResolveOptions): { loaded: LoadedConfig; rows: ImageTag[] } {
  const file = readTagsFile(resolve(options.file ?? DEFAULT_TAGS_FILE));
  const { loaded, catalog } = openWorkspace(global, { imagesDir: options.imagesDir });
  const distros = distroKeys(file.tags).filter((distro) => matchesDistro(distro, options.distro ?? []));
  if (distros.length === 0) throw new UsageError(`${file.path}: no distro matching --distro ${(options.distro ?? []).join(',')} (it has ${distroKeys(file.tags).join(', ')})`);
  const rows = distros.flatMap((distro) => imageTags(file.tags, deployableImages(catalog, loaded.config, distro), [distro]).rows);
  const used = new Set(rows.flatMap((row) => row.from));
  const unused = Object.keys(file.tags).filter((key) => key !== DEFAULT_KEY && !used.has(key));
  if (unused.length > 0 && !global.quiet) process.stderr.write(`warning: ${file.path}: ${unused.length} key(s) of ${TAGS_VARIABLE} used by no image of the image trees: ${unused.join(', ')}\n`);
  return { loaded, rows };
}

async function connectedClient(loaded: LoadedConfig): Promise<RegistryClient> {
  const { registry } = loaded.config;
  if (registry === '') throw new UsageError('no registry configured (registry in the config): nothing to ask');
  const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
  const credentials = secrets.registry_username && secrets.registry_password ? { username: secrets.registry_username, password: secrets.registry_password } : undefined;
  const client = new RegistryClient(registry, credentials, { insecure: loaded.config.registry_insecure ?? isLoopbackRegistry(registry) });
  await client.ping().catch((error: unknown) => {
    throw registryFailure(registry, error);
  });
  return client;
}

function registryFailure(registry: string, error: unknown): unknown {
  return error instanceof RegistryError ? new WorkFailedError(`registry ${registry}: ${error.message}`) : error;
}

function namespaceOption(value: string, flag: string): string {
  if (!NAMESPACE.test(value)) throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: expected a lower-case namespace such as stackhpc-dev`);
  return value;
}

export function tagsCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void): CommandUnknownOpts {
  const tags = new Command('tags').description(`Roll out image tags: ${DEFAULT_TAGS_FILE} (update, list), the registry (check, promote)`);

  tags.addCommand(
    new Command('update')
      .description("Write a run's tag into the tags file: a build of every image sets openstack for its distro, a partial build sets the keys of the images it built")
      .option('--run <dir>', `a run folder, a folder of run folders, or a summary.json; repeatable (default: the newest run in ${RUNS_DIR})`, collectRepeated)
      .option(...fileOption)
      .option('--dry-run', 'print the changes without writing the file')
      .addHelpText('after', '\nComments, order and formatting of the file are kept; only the changed values (and added keys) differ.\nExit status: 0 written (or nothing to change); 2 bad input (nothing written).')
      .action(async (options) => {
        const global = globals();
        const file = readTagsFile(resolve(options.file ?? DEFAULT_TAGS_FILE));
        const runs = options.run && options.run.length > 0 ? options.run : [latestRun(resolve(RUNS_DIR))];
        const rollouts = summaryFiles(runs).map(readRollout);
        const plan = planUpdate(file.tags, rollouts);
        if (!options.dryRun) await writeTagChanges(file, plan.changes);
        if (global.json) {
          process.stdout.write(`${JSON.stringify({ file: file.path, written: !options.dryRun && plan.changes.length > 0, changes: plan.changes, still_overriding: plan.stillOverriding }, null, 2)}\n`);
          return;
        }
        for (const change of plan.changes) process.stdout.write(`${change.key} ${change.distro}: ${change.from ?? '(new)'} -> ${change.to}\n`);
        for (const rollout of rollouts) if (!rollout.pushed && !global.quiet) process.stderr.write(`warning: ${rollout.summaryFile}: the run did not push; ${rollout.tag} is not in a registry\n`);
        if (plan.stillOverriding.length > 0 && !global.quiet) {
          process.stderr.write(`note: these keys still override the new default: ${plan.stillOverriding.map((entry) => `${entry.key} (${entry.distro})`).join(', ')}\n`);
        }
        process.stderr.write(`${plan.changes.length === 0 ? 'nothing to change in' : options.dryRun ? `would change ${plan.changes.length} tag(s) in` : `changed ${plan.changes.length} tag(s) in`} ${file.path}\n`);
      }),
  );

  tags.addCommand(
    new Command('list')
      .description("Each image's effective tag per distro: its container key, else the longest service prefix, else openstack")
      .option(...fileOption)
      .option('--distro <names>', 'only these distros (rocky or rocky-9), comma-separated', collectList)
      .option('--images-dir <dir>', 'extra image tree; repeatable', collectRepeated)
      .addHelpText('after', '\nOne line per image, distro and tag: "image distro tag".')
      .action((options) => {
        const global = globals();
        const { rows } = resolveImageTags(global, options);
        if (global.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(rows.map((row) => `${row.image} ${row.distro} ${row.tag}\n`).join(''));
      }),
  );

  tags.addCommand(
    new Command('check')
      .description('Ask the registry for every image:tag the tags file references; list the missing ones')
      .option(...fileOption)
      .option('--distro <names>', 'only these distros (rocky or rocky-9), comma-separated', collectList)
      .option('--images-dir <dir>', 'extra image tree; repeatable', collectRepeated)
      .option('--namespace <ns>', 'namespace to look in (default: namespace from the config)')
      .option('--concurrency <n>', 'requests at once', parsePositiveInteger, 8)
      .addHelpText('after', '\nExit status: 0 every tag exists; 1 a tag is missing or could not be checked; 2 bad input.')
      .action(async (options) => {
        const global = globals();
        const namespace = options.namespace === undefined ? undefined : namespaceOption(options.namespace, '--namespace');
        const { loaded, rows } = resolveImageTags(global, options);
        const client = await connectedClient(loaded);
        const repository = (image: string) => repositoryOf(namespace ?? loaded.config.namespace, loaded.config.image_prefix, image);
        const checked = await checkImages(client, referencedImages(rows), repository, options.concurrency).catch((error: unknown) => {
          throw registryFailure(loaded.config.registry, error);
        });
        const missing = checked.filter((image) => image.state === 'missing');
        const unknown = checked.filter((image) => image.state === 'unknown');
        if (global.json) process.stdout.write(`${JSON.stringify({ checked: checked.length, missing, unknown }, null, 2)}\n`);
        else {
          for (const image of missing) process.stdout.write(`missing ${image.repository}:${image.tag} (${image.distros.join(', ')})\n`);
          for (const image of unknown) process.stdout.write(`unknown ${image.repository}:${image.tag}: ${image.detail ?? ''}\n`);
        }
        process.stderr.write(`${checked.length} image tag(s) checked in ${loaded.config.registry}: ${missing.length} missing${unknown.length > 0 ? `, ${unknown.length} not checked` : ''}\n`);
        setExitCode(missing.length + unknown.length > 0 ? 1 : 0);
      }),
  );

  tags.addCommand(
    new Command('promote')
      .description('Copy every image:tag the tags file references from one namespace to another, by blob mount and manifest put (no layer moves)')
      .requiredOption('--from <ns>', 'namespace the images were pushed to (e.g. the dev namespace)')
      .requiredOption('--to <ns>', 'namespace to release them into')
      .option(...fileOption)
      .option('--distro <names>', 'only these distros (rocky or rocky-9), comma-separated', collectList)
      .option('--images-dir <dir>', 'extra image tree; repeatable', collectRepeated)
      .option('--concurrency <n>', 'images copied at once', parsePositiveInteger, 4)
      .addHelpText('after', '\nAn image already in the target with the same digest is not copied.\nExit status: 0 all copied or present; 1 an image could not be copied; 2 bad input.')
      .action(async (options) => {
        const global = globals();
        const from = namespaceOption(options.from, '--from');
        const to = namespaceOption(options.to, '--to');
        if (from === to) throw new UsageError('--from and --to name the same namespace');
        const { loaded, rows } = resolveImageTags(global, options);
        const client = await connectedClient(loaded);
        const prefix = loaded.config.image_prefix;
        const images: ReferencedImage[] = referencedImages(rows);
        const results = await promoteImages(client, images, { from: (image) => repositoryOf(from, prefix, image), to: (image) => repositoryOf(to, prefix, image) }, options.concurrency).catch((error: unknown) => {
          throw registryFailure(loaded.config.registry, error);
        });
        const count = (outcome: string) => results.filter((result) => result.outcome === outcome).length;
        if (global.json) process.stdout.write(`${JSON.stringify({ copied: count('copied'), already_present: count('already-present'), failed: count('failed'), images: results }, null, 2)}\n`);
        else {
          for (const result of results) {
            const what = `${result.to}:${result.tag}`;
            process.stdout.write(result.outcome === 'failed' ? `failed ${what}: ${result.detail ?? ''}\n` : `${result.outcome} ${what} ${result.digest ?? ''}\n`);
          }
        }
        process.stderr.write(`${from} -> ${to}: ${count('copied')} copied, ${count('already-present')} already present, ${count('failed')} failed\n`);
        setExitCode(count('failed') > 0 ? 1 : 0);
      }),
  );
  return tags;
}
