import nunjucks from 'nunjucks';
import type { Catalog, ImageDefinition } from '../catalog/types.js';
import { customizable } from './customizable.js';
import { debianPackageInstall } from './kolla-methods.js';
import { addPythonTests, installJinjaCompat, pythonGlobals } from './jinja-compat.js';
import { TreeLoader } from './loader.js';
import { OVERRIDE_TEMPLATE_NAME } from './overrides.js';
import type { TemplateVariables } from './variables.js';

export class RenderError extends Error {
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(`${image}: template error: ${message}`);
    this.name = 'RenderError';
  }
}

/** Renders Dockerfile.j2 templates with one environment per tree root (its macros.j2 first). */
export class Renderer {
  private readonly environments = new Map<string, nunjucks.Environment>();

  /** `override`: the merged template override, rendered in place of each image's own template. */
  constructor(
    private readonly catalog: Catalog,
    private readonly override?: string,
  ) {
    installJinjaCompat();
  }

  render(image: ImageDefinition, variables: TemplateVariables): string {
    try {
      const environment = this.environmentFor(image.treeRoot);
      if (this.override === undefined) return environment.render(image.templateName, { ...variables });
      return environment.render(OVERRIDE_TEMPLATE_NAME, { ...variables, parent_template: image.templateName });
    } catch (error) {
      throw new RenderError(image.name, (error as Error).message.replace(/\s+/g, ' ').trim());
    }
  }

  private environmentFor(treeRoot: string): nunjucks.Environment {
    let environment = this.environments.get(treeRoot);
    if (environment === undefined) {
      const others = [...this.catalog.trees].reverse().filter((root) => root !== treeRoot);
      const virtual: Record<string, string> = this.override === undefined ? {} : { [OVERRIDE_TEMPLATE_NAME]: this.override };
      environment = new nunjucks.Environment(new TreeLoader([treeRoot, ...others], virtual), { autoescape: false, throwOnUndefined: false });
      environment.addFilter('customizable', customizable);
      environment.addGlobal('debian_package_install', debianPackageInstall);
      for (const [name, value] of Object.entries(pythonGlobals)) environment.addGlobal(name, value);
      environment.addGlobal('raise_error', (message: string) => {
        throw new Error(String(message));
      });
      addPythonTests(environment);
      this.environments.set(treeRoot, environment);
    }
    return environment;
  }
}
