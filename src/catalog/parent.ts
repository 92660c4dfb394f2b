/**
 * Reads the parent of an image from its template's first FROM line without rendering it.
 * Kolla templates name in-tree parents as `{{ namespace }}/{{ image_prefix }}<name>:{{ tag }}`;
 * anything else (`{{ base_image }}:{{ base_distro_tag }}`, `debian:bookworm`) is an outside base.
 * Other variables in the name are taken as rendering would give them.
 */
export type ParentReference =
  { kind: 'tree'; name: string } | { kind: 'outside'; reference: string } | { kind: 'none' };

const fromLine = /^\s*FROM\s+(.+?)\s*$/im;
const namespaceExpression = /\{\{-?\s*namespace\s*-?\}\}/;
const prefixExpression = /\{\{-?\s*image_prefix\s*-?\}\}/g;

export function parseParent(template: string): ParentReference {
  const match = fromLine.exec(template);
  if (!match?.[1]) return { kind: 'none' };
  const words = match[1].split(/\s+(?![^{]*\}\})/).filter((word) => !word.startsWith('--'));
  const reference = words[0] ?? '';
  if (!namespaceExpression.test(reference)) return { kind: 'outside', reference };
  const lastSegment = reference.slice(reference.lastIndexOf('/') + 1).replace(prefixExpression, '');
  const withVariables = lastSegment.replace(/:(?:[^:{}]|\{\{[^}]*\}\})*$/, '');
  // kolla-build reads the parent from the rendered line: a variable the template sets to a string renders
  // as that string, any other as nothing (2024.1's `{{ infra_image_prefix }}prometheus-base` is prometheus-base).
  const name = withVariables.replace(variableExpression, (_match, variable: string) => literalSet(template, variable));
  return { kind: 'tree', name };
}

const variableExpression = /\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}/g;

function literalSet(template: string, variable: string): string {
  const set = new RegExp(`\\{%-?\\s*set\\s+${variable}\\s*=\\s*(?:'([^']*)'|"([^"]*)")\\s*-?%\\}`).exec(template);
  return set?.[1] ?? set?.[2] ?? '';
}
