import type { Catalog } from '../../src/catalog/types.js';
import { Renderer, type RendererOptions } from '../../src/render/renderer.js';
import { readTemplateFiles } from '../../src/render/template-files.js';
import type { TemplateVariables } from '../../src/render/variables.js';

/** A Renderer over the catalog's tree folders as they are now, their templates read first as a plan reads them. */
export function treeRenderer(catalog: Catalog, options: Omit<RendererOptions, 'templates'> = {}): Renderer {
  return new Renderer(catalog, { ...options, templates: readTemplateFiles(catalog.trees) });
}

/** Every variable a Debian render of image `name` gets, as a run over the bundled configuration gives them. */
export function debianTemplateVariables(name: string, extra: Record<string, unknown> = {}): TemplateVariables {
  return {
    base_distro: 'debian',
    base_distro_tag: 'bookworm',
    base_image: 'debian',
    base_package_type: 'deb',
    distro_package_manager: 'apt',
    base_arch: 'x86_64',
    debian_arch: 'amd64',
    namespace: 'localhost/ns',
    image_prefix: '',
    tag: 't',
    image_name: name,
    maintainer: 'team',
    release: 'zed',
    ...extra,
  };
}
