/** Graphviz's own keywords: an ID spelled like one must be quoted. */
const DOT_KEYWORDS = new Set(['node', 'edge', 'graph', 'digraph', 'subgraph', 'strict']);
const PLAIN_ID = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$/;
const NUMERAL_ID = /^-?(\.\d+|\d+(\.\d*)?)$/;

/** An image name as a DOT ID: bare where DOT allows it, else double-quoted. */
export function dotId(name: string): string {
  if ((PLAIN_ID.test(name) && !DOT_KEYWORDS.has(name.toLowerCase())) || NUMERAL_ID.test(name)) return name;
  return `"${name.replace(/"/g, '\\"')}"`;
}

/**
 * kolla-build's --save-dependency file: the selected images and their parent edges as a Graphviz digraph,
 * byte for byte as kolla-build writes it through the graphviz library (whose `rankdir=LR` body entry has no
 * line end of its own, so the first node follows it on the same line).
 */
export function dependencyDot(images: ReadonlyArray<{ name: string; parent: string | null }>): string {
  const body = ['rankdir=LR'];
  for (const image of images) {
    body.push(`\t${dotId(image.name)}\n`);
    if (image.parent !== null) body.push(`\t${dotId(image.parent)} -> ${dotId(image.name)}\n`);
  }
  return `// Container Images Dependency\ndigraph {\n${body.join('')}}\n`;
}
