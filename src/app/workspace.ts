import type { Catalog } from '../catalog/types.js';
import type { LoadedConfig } from '../config/load.js';

/** The configuration and the image trees, as every command that chooses images sees them. */
export interface Workspace {
  loaded: LoadedConfig;
  catalog: Catalog;
}
