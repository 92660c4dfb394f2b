import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import {
  checkTags,
  DEFAULT_TAGS_FILE,
  promoteTags,
  resolveImageTags,
  updateTags,
  type TagsCheckOutcome,
  type TagsChoice,
  type TagsPromoteOutcome,
  type TagsUpdateOutcome,
} from '../../app/tags.js';
import { RUNS_DIR } from '../../util/runs-dir.js';
import { collectList, collectRepeated, parsePositiveInteger, type GlobalOptions } from '../options.js';
import { openWorkspace } from '../workspace.js';

type SetExitCode = (code: number) => void;

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

/** The images and tags file the resolving options choose; the file's warnings on stderr unless quiet. */
function tagsChoice(global: GlobalOptions, options: ResolveOptions): TagsChoice {
  return {
    workspace: openWorkspace(global, { imagesDir: options.imagesDir }),
    file: options.file,
    distros: options.distro,
    onWarning: (line) => global.quiet || process.stderr.write(`warning: ${line}\n`),
  };
}

export function tagsCommand(
  globals: () => GlobalOptions,
  signal: AbortSignal,
  setExitCode: SetExitCode,
): CommandUnknownOpts {
  return new Command('tags')
    .description(`Roll out image tags: ${DEFAULT_TAGS_FILE} (update, list), the registry (check, promote)`)
    .addCommand(updateCommand(globals, signal))
    .addCommand(listCommand(globals))
    .addCommand(checkCommand(globals, signal, setExitCode))
    .addCommand(promoteCommand(globals, signal, setExitCode));
}

function updateCommand(globals: () => GlobalOptions, signal: AbortSignal) {
  return new Command('update')
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
      const dryRun = options.dryRun ?? false;
      const outcome = await updateTags({ file: options.file, runs: options.run, dryRun, signal });
      // Interrupted, nothing is written: the exit status says so (130).
      if (outcome !== undefined) printUpdate(globals(), outcome, dryRun);
    });
}

function printUpdate(global: GlobalOptions, outcome: TagsUpdateOutcome, dryRun: boolean): void {
  const { path, plan } = outcome;
  for (const rollout of outcome.unpushed.filter(() => !global.quiet)) {
    process.stderr.write(`warning: ${rollout.label}: the run did not push; ${rollout.tag} is in no registry\n`);
  }
  if (global.json) {
    const report = {
      file: path,
      written: outcome.written,
      changes: plan.changes,
      still_overriding: plan.stillOverriding,
    };
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

function listCommand(globals: () => GlobalOptions) {
  return resolvingCommand(
    'list',
    "Each image's effective tag per distro: its container key, else the longest service prefix, else openstack",
  )
    .addHelpText('after', '\nOne line per image, distro and tag: "image distro tag".')
    .action((options) => {
      const global = globals();
      const rows = resolveImageTags(tagsChoice(global, options));
      if (global.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(rows.map((row) => `${row.image} ${row.distro} ${row.tag}\n`).join(''));
    });
}

function checkCommand(globals: () => GlobalOptions, signal: AbortSignal, setExitCode: SetExitCode) {
  return resolvingCommand(
    'check',
    'Ask the registry for every image:tag the tags file references; list the missing ones',
  )
    .option('--namespace <ns>', 'namespace to look in (default: namespace from the config)')
    .option('--concurrency <n>', 'requests at once', parsePositiveInteger, 8)
    .addHelpText('after', '\nExit status: 0 every tag exists; 1 a tag is missing or could not be checked; 2 bad input.')
    .action(async (options) => {
      const global = globals();
      const { namespace, concurrency } = options;
      const outcome = await checkTags({ ...tagsChoice(global, options), namespace, concurrency, signal });
      setExitCode(printCheck(global, outcome));
    });
}

/** What `tags check` found; returns the exit code. */
function printCheck(global: GlobalOptions, outcome: TagsCheckOutcome): number {
  if (outcome.kind === 'interrupted') return 130;
  const { checked, missing, unknown } = outcome;
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
  const counted = `${checked.length} image tag(s) checked in ${outcome.registry}`;
  process.stderr.write(`${counted}: ${missing.length} missing${notChecked}\n`);
  return missing.length + unknown.length > 0 ? 1 : 0;
}

function promoteCommand(globals: () => GlobalOptions, signal: AbortSignal, setExitCode: SetExitCode) {
  return resolvingCommand(
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
      const { from, to, concurrency } = options;
      const outcome = await promoteTags({ ...tagsChoice(global, options), from, to, concurrency, signal });
      const code = printPromotion(global, outcome, `${from} -> ${to}`);
      setExitCode(signal.aborted ? 130 : code);
    });
}

/** What `tags promote` did, image by image; returns the exit code. */
function printPromotion(global: GlobalOptions, outcome: TagsPromoteOutcome, direction: string): number {
  if (outcome.kind === 'interrupted') return 130;
  const { images, totals } = outcome;
  if (global.json) process.stdout.write(`${JSON.stringify({ ...totals, images }, null, 2)}\n`);
  else {
    for (const image of images) {
      const what = `${image.to}:${image.tag}`;
      const line =
        image.outcome === 'failed'
          ? `failed ${what}: ${image.detail ?? ''}`
          : [image.outcome, what, image.digest].filter((part) => part !== undefined).join(' ');
      process.stdout.write(`${line}\n`);
    }
  }
  const stopped = totals.interrupted > 0 ? `, ${totals.interrupted} interrupted` : '';
  const counts = `${totals.copied} copied, ${totals.already_present} already present, ${totals.failed} failed`;
  process.stderr.write(`${direction}: ${counts}${stopped}\n`);
  return totals.failed > 0 ? 1 : 0;
}
