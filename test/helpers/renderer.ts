import type { Catalog } from '../../src/catalog/types.js';
import { Renderer, type RendererOptions } from '../../src/render/renderer.js';
import { readTemplateFiles } from '../../src/render/template-files.js';

/** A Renderer over the catalog's tree folders as they are now, their templates read first as a plan reads them. */
export function treeRenderer(catalog: Catalog, options: Omit<RendererOptions, 'templates'> = {}): Renderer {
  return new Renderer(catalog, { ...options, templates: readTemplateFiles(catalog.trees) });
}
