import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { join, resolve } from 'node:path';
import type { Catalog } from '../../catalog/types.js';
import { createEngine } from '../../engine/index.js';
import { imageReference, isValidTag, runTag } from '../../plan/naming.js';
import { smokeTestImage, type SmokeResult } from '../../smoke/smoke-test.js';
import { makePlan } from '../../plan/make-plan.js';
import { writeBuildContext } from '../../render/context.js';
import { cacheDir } from '../../util/cache-dir.js';
import { UsageError } from '../../util/errors.js';
import { checkOutputDir } from '../../util/output-path.js';
import { templateOverrideOption, withImageSelection, type GlobalOptions } from '../options.js';
import { chosenDistros, chosenRegexes, chosenSets, chosenSelection, openWorkspace } from '../workspace.js';

/** A subcommand that chooses images the way build does. */
function selectingCommand(name: string, description: string) {
  return withImageSelection(new Command(name).description(description));
}

type ListingFormat = 'plain' | 'json' | 'kolla';

function listingFormat(asked: string | undefined, json: boolean | undefined): ListingFormat {
  if (asked === undefined) return json ? 'json' : 'plain';
  if (asked === 'plain' || asked === 'json' || asked === 'kolla') return asked;
  throw new UsageError(`invalid --format ${JSON.stringify(asked)}: expected plain, json or kolla`);
}

const formatOption = [
  '--format <format>',
  "plain, json (as --json) or kolla (kolla-build's --list-images / --list-dependencies output)",
] as const;

export function imagesCommand(globals: () => GlobalOptions, setExitCode: (code: number) => void): CommandUnknownOpts {
  const images = new Command('images').description(
    'Look at the image trees before building: list, dependencies, rendered Dockerfiles',
  );

  images.addCommand(
    selectingCommand('list', 'List the selected images, parents before children')
      .option(...formatOption)
      .action((regexes, options) => {
        const global = globals();
        const format = listingFormat(options.format, global.json);
        const workspace = openWorkspace(global, options);
        const { catalog } = workspace;
        const selection = chosenSelection(workspace, regexes, options);
        for (const regex of selection.unmatchedRegexes)
          process.stderr.write(`warning: regex ${JSON.stringify(regex)} matches no image\n`);
        if (format === 'kolla') {
          process.stdout.write(selection.selected.map((name, index) => `${index + 1} : ${name}\n`).join(''));
        } else if (format === 'json') {
          const rows = selection.selected.map((name) => ({
            name,
            parent: catalog.images.get(name)?.parent ?? null,
            dir: catalog.images.get(name)?.dir,
          }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        } else {
          process.stdout.write(selection.selected.map((name) => `${name}\n`).join(''));
        }
      }),
  );

  images.addCommand(
    selectingCommand('deps', 'Show the selected images as a dependency tree')
      .option(...formatOption)
      .action((regexes, options) => {
        const global = globals();
        const format = listingFormat(options.format, global.json);
        const workspace = openWorkspace(global, options);
        const { catalog } = workspace;
        const selection = chosenSelection(workspace, regexes, options, false);
        const selected = new Set(selection.selected);
        const roots = selection.selected.filter((name) => !selected.has(catalog.images.get(name)?.parent ?? ''));
        if (format === 'kolla') {
          // kolla-build: a root is always {name: [children]}, even without children; nothing selected is a sentence.
          if (roots.length === 0) process.stdout.write('Nothing matched!\n');
          else
            process.stdout.write(
              `${JSON.stringify(Object.fromEntries(roots.map((root) => [root, childrenJson(catalog, root, selected)])), null, 2)}\n`,
            );
        } else if (format === 'json')
          process.stdout.write(
            `${JSON.stringify(
              roots.map((root) => dependencyJson(catalog, root, selected)),
              null,
              2,
            )}\n`,
          );
        else process.stdout.write(roots.map((root) => dependencyText(catalog, root, selected, '')).join(''));
      }),
  );

  images.addCommand(
    selectingCommand(
      'render',
      "Render every selected image's Dockerfile and build context into a folder, without building",
    )
      .requiredOption(
        '--out <dir>',
        'folder to write <image>/Dockerfile and context files into (per distro when several)',
      )
      .option('--tag <tag>', 'tag to render with (default: a fresh run tag)')
      .addOption(templateOverrideOption())
      .action(async (regexes, options) => {
        checkOutputDir(options.out, '--out');
        const global = globals();
        const { loaded, catalog } = openWorkspace(global, options);
        const distros = chosenDistros(loaded, options.distro);
        if (options.tag !== undefined && !isValidTag(options.tag))
          throw new UsageError(`invalid --tag ${JSON.stringify(options.tag)}`);
        const regexList = chosenRegexes(loaded, regexes, chosenSets(options));
        const now = new Date();
        for (const distro of distros) {
          // Over a Kolla checkout a render is tagged as that release's kolla-build tags it.
          const tag =
            options.tag ??
            loaded.kolla?.rules.defaultTag(distro) ??
            runTag(loaded.config.release, distro, loaded.config.distros[distro]?.version ?? '', now);
          const plan = await makePlan({
            config: loaded.config,
            catalog,
            distro,
            tag,
            engine: loaded.config.engine,
            selection: { regexes: regexList, skipParents: options.skipParents ?? false },
            renderInputs: loaded.renderInputs,
            cacheDir: cacheDir(),
            // As kolla-build's --template-only: a render fetches no source.
            fetchSources: false,
          });
          const outDir = distros.length > 1 ? join(resolve(options.out), distro) : resolve(options.out);
          const failed = plan.images.filter((image) => image.failure !== undefined);
          await Promise.all(
            plan.images
              .filter((image) => image.failure === undefined)
              .map((image) =>
                writeBuildContext(join(outDir, image.name), image.dockerfile, image.contextFiles, image.emptyDirs),
              ),
          );
          for (const image of failed)
            process.stderr.write(`ci-builder: error: ${image.name}: ${image.failure ?? ''}\n`);
          process.stderr.write(
            `rendered ${plan.images.length - failed.length} image(s) for ${distro} into ${outDir}${failed.length > 0 ? `; ${failed.length} failed` : ''}\n`,
          );
          if (failed.length > 0) setExitCode(1);
        }
      }),
  );
  images.addCommand(
    selectingCommand(
      'test',
      "Run each selected image's smoke checks: its service answers, and kolla_start applies a config.json",
    )
      .requiredOption('--tag <tag>', 'the run tag of the images to test')
      .option('--engine <engine>', 'buildah, docker or podman (default: from the config)')
      .addHelpText('after', '\nExit status: 0 every check passed (or was skipped), 1 a check failed, 2 bad input.')
      .action(async (regexes, options) => {
        const global = globals();
        const workspace = openWorkspace(global, options, { engine: options.engine });
        const { loaded } = workspace;
        const selection = chosenSelection(workspace, regexes, options);
        const engine = createEngine(loaded.config.engine, { url: loaded.config.engine_url });
        const results: SmokeResult[] = [];
        for (const name of selection.selected) {
          const result = await smokeTestImage(engine, name, imageReference(loaded.config, name, options.tag));
          results.push(result);
          if (!global.json)
            for (const check of result.checks)
              process.stdout.write(`${check.status.padEnd(7)} ${name} ${check.check}: ${check.detail}\n`);
        }
        if (global.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        const failures = results.flatMap((result) => result.checks.filter((check) => check.status === 'fail'));
        if (!global.json)
          process.stderr.write(`${results.length} image(s) tested, ${failures.length} check(s) failed\n`);
        setExitCode(failures.length > 0 ? 1 : 0);
      }),
  );
  return images;
}

/** kolla-build --list-dependencies: a parent is {name: [children]}, a leaf is its name. */
type DependencyNode = string | { [name: string]: DependencyNode[] };

function dependencyJson(catalog: Catalog, name: string, selected: ReadonlySet<string>): DependencyNode {
  const children = childrenJson(catalog, name, selected);
  return children.length === 0 ? name : { [name]: children };
}

export function childrenJson(catalog: Catalog, name: string, selected: ReadonlySet<string>): DependencyNode[] {
  return (catalog.children.get(name) ?? [])
    .filter((child) => selected.has(child))
    .map((child) => dependencyJson(catalog, child, selected));
}

function dependencyText(catalog: Catalog, name: string, selected: ReadonlySet<string>, indent: string): string {
  const children = (catalog.children.get(name) ?? []).filter((child) => selected.has(child));
  return `${indent}${name}\n${children.map((child) => dependencyText(catalog, child, selected, `${indent}  `)).join('')}`;
}
