/** One node of an image tree, as discovered on disk. */
export interface ImageDefinition {
  name: string;
  /** The folder holding Dockerfile.j2 and the build context files. */
  dir: string;
  /** The tree the image came from; its macros.j2 is found at this root. */
  treeRoot: string;
  /** Template path relative to treeRoot, as the template loader names it. */
  templateName: string;
  /** The image its FROM names inside the tree, or null when FROM names an outside base. */
  parent: string | null;
}

export interface Catalog {
  /** Image trees in the order given: later trees add or replace images. */
  trees: string[];
  images: Map<string, ImageDefinition>;
  /** Children by parent name, in name order. */
  children: Map<string, string[]>;
}
