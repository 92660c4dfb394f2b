import nunjucks from 'nunjucks';
import type { Catalog, ImageDefinition } from '../catalog/types.js';
import { addPythonTests, installJinjaCompat, pythonGlobals } from './jinja-compat.js';
import { TreeLoader } from './loader.js';
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

  constructor(private readonly catalog: Catalog) {
    installJinjaCompat();
  }

  render(image: ImageDefinition, variables: TemplateVariables): string {
    try {
      return this.environmentFor(image.treeRoot).render(image.templateName, { ...variables });
    } catch (error) {
      throw new RenderError(image.name, (error as Error).message.replace(/\s+/g, ' ').trim());
    }
  }

  private environmentFor(treeRoot: string): nunjucks.Environment {
    let environment = this.environments.get(treeRoot);
    if (environment === undefined) {
      const others = [...this.catalog.trees].reverse().filter((root) => root !== treeRoot);
      environment = new nunjucks.Environment(new TreeLoader([treeRoot, ...others]), { autoescape: false, throwOnUndefined: false });
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
