/**
 * Reads the parent of an image from its template's first FROM line without rendering it.
 * Kolla templates name in-tree parents as `{{ namespace }}/{{ image_prefix }}<name>:{{ tag }}`;
 * anything else (`{{ base_image }}:{{ base_distro_tag }}`, `debian:bookworm`) is an outside base.
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
  const name = lastSegment.replace(/:(?:[^:{}]|\{\{[^}]*\}\})*$/, '');
  return { kind: 'tree', name };
}
