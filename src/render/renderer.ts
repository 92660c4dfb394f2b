import nunjucks from 'nunjucks';
import type { Catalog, ImageDefinition } from '../catalog/types.js';
import { UsageError } from '../util/errors.js';
import { customizable } from './customizable.js';
import { addJinjaFilters } from './jinja-filters.js';
import { debianPackageInstall } from './kolla-methods.js';
import { handleRepos, type ReposSource } from './kolla-repos.js';
import type { ReposContext } from './repos-data.js';
import {
  addPythonFormatFilters,
  addPythonTests,
  FROM_IMPORT_GLOBAL,
  fromImport,
  installJinjaCompat,
  pythonGlobals,
} from './jinja-compat.js';
import type { PlacedEnvironment } from './compiled-cache.js';
import { CompiledTemplates, MemoryTreeLoader, type TemplateFiles } from './memory-loader.js';
import { leadingText, OVERRIDE_LEADING_TEMPLATE_NAME, OVERRIDE_TEMPLATE_NAME } from './overrides.js';
import { installRuntimeSandbox, SandboxedEnvironment } from './sandbox-runtime.js';
import type { TemplateVariables } from './variables.js';

/** A template that cannot be rendered is bad input: one line, exit 2, nothing built. */
export class RenderError extends UsageError {
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(`${image}: template error: ${message}`);
    this.name = 'RenderError';
  }
}

/**
 * nunjucks nests one "(file) [Line l, Column c] Template render error:" per include level;
 * the template and the message itself are what an operator needs.
 */
export function tidyTemplateError(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  const places = [...flat.matchAll(/\(([^()]+)\) \[Line (\d+), Column (\d+)\]/g)];
  const innermost = places[places.length - 1];
  if (innermost === undefined) {
    // An error from the loader (a template refused or not found) or an import carries the file without a
    // place, once per level it went through: the innermost file is the one.
    const unplaced = /^(?:\(([^()]+)\) (?:Template render error: )?)+(?:Error: )?(.*)$/.exec(flat);
    return unplaced ? `${unplaced[1]}: ${unplaced[2]}` : flat;
  }
  const text = flat
    .slice(innermost.index + innermost[0].length)
    .replace(/^(\s*(Template render error:|Error:|\([^()]+\)))+\s*/, '')
    .trim();
  // nunjucks' places of run-time errors are unreliable (the renderer names the right one): left out.
  return `${innermost[1]}: ${withConfigHint(text)}`;
}

/** Kolla's templates name kolla-build's config sections; say where the same lives in ci-builder's. */
function withConfigHint(text: string): string {
  const user = /'([a-z0-9_-]+)-user' config section/.exec(text);
  return user ? `${text} (in ci-builder: users.${user[1]} in the config)` : text;
}

export interface RendererOptions {
  /** The templates of the catalog's trees, read beforehand (`readTemplateFiles`). */
  templates: TemplateFiles;
  /** The merged template override, rendered in place of each image's own template. */
  override?: string;
  /** repos.yaml data for `handle_repos`; templates that call it fail without. */
  repos?: ReposSource;
  /** Where each line of the override comes from (`overrideLineOrigins`), for error messages. */
  overrideOrigins?: readonly string[];
  /** Compiled templates kept by earlier runs, and where the ones compiled now go; default: compile all. */
  compiled?: CompiledTemplates;
}

/** The options templates are compiled with; compiled code is kept under a key that includes them. */
export const environmentOptions = { autoescape: false, throwOnUndefined: false } as const;

/** Renders Dockerfile.j2 templates with one environment per tree root (its macros.j2 first). */
export class Renderer {
  private readonly environments = new Map<string, nunjucks.Environment>();
  private readonly compiled: CompiledTemplates;

  constructor(
    private readonly catalog: Catalog,
    private readonly options: RendererOptions,
  ) {
    installJinjaCompat();
    installRuntimeSandbox();
    this.compiled = options.compiled ?? new CompiledTemplates(new Map(), environmentOptions);
  }

  render(image: ImageDefinition, variables: TemplateVariables): string {
    const environment = this.environmentFor(image.treeRoot);
    const placed = environment as nunjucks.Environment & PlacedEnvironment;
    placed.ciBuilderTemplate = undefined;
    try {
      if (this.options.override === undefined) return environment.render(image.templateName, { ...variables });
      const context = { ...variables, parent_template: image.templateName };
      const leading =
        leadingText(this.options.override) === '' ? '' : environment.render(OVERRIDE_LEADING_TEMPLATE_NAME, context);
      return leading + environment.render(OVERRIDE_TEMPLATE_NAME, context);
    } catch (error) {
      const message = tidyTemplateError((error as Error).message);
      const place = this.placeOf(placed);
      // A parse error already names its file and line; a run-time error gets the place its code last reached.
      throw new RenderError(
        image.name,
        place === undefined || /^\S+:\d+: /.test(message) ? message : `${place}: ${message.replace(/^\S+: /, '')}`,
      );
    }
  }

  /** `file:line` of the last expression the render evaluated, override lines traced to their file. */
  private placeOf(environment: PlacedEnvironment): string | undefined {
    const { ciBuilderTemplate: template, ciBuilderLine: line } = environment;
    if (template === undefined || line === undefined) return undefined;
    if (template === OVERRIDE_TEMPLATE_NAME || template === OVERRIDE_LEADING_TEMPLATE_NAME) {
      return this.options.overrideOrigins?.[line] ?? `template override:${line + 1}`;
    }
    return `${template}:${line + 1}`;
  }

  private environmentFor(treeRoot: string): nunjucks.Environment {
    let environment = this.environments.get(treeRoot);
    if (environment === undefined) {
      const others = [...this.catalog.trees].reverse().filter((root) => root !== treeRoot);
      const { override, repos, templates } = this.options;
      const virtual: Record<string, string> =
        override === undefined
          ? {}
          : { [OVERRIDE_TEMPLATE_NAME]: override, [OVERRIDE_LEADING_TEMPLATE_NAME]: leadingText(override) };
      const loader = new MemoryTreeLoader([treeRoot, ...others], templates, virtual, this.compiled);
      environment = new SandboxedEnvironment(loader, { ...environmentOptions });
      environment.addFilter('customizable', customizable);
      addPythonFormatFilters(environment);
      addJinjaFilters(environment);
      environment.addGlobal('debian_package_install', debianPackageInstall);
      // nunjucks calls globals with the template context as `this`, as Jinja2's pass_context does.
      environment.addGlobal('handle_repos', function (this: { ctx: ReposContext }, names: unknown, mode: unknown) {
        if (repos === undefined)
          throw new Error(
            'handle_repos needs repos.yaml: set build.repos_yaml (an upstream Kolla tree uses kolla/template/repos.yaml)',
          );
        return handleRepos(repos, this.ctx, names, mode);
      });
      for (const [name, value] of Object.entries(pythonGlobals)) environment.addGlobal(name, value);
      environment.addGlobal(FROM_IMPORT_GLOBAL, fromImport);
      environment.addGlobal('raise_error', (message: string) => {
        throw new Error(String(message));
      });
      addPythonTests(environment);
      this.environments.set(treeRoot, environment);
    }
    return environment;
  }
}
