/** `host[:port]/path/name:tag` → its parts; a digest reference or one without a tag gives undefined. */
export function splitReference(reference: string): { registry: string; repository: string; tag: string } | undefined {
  const slash = reference.indexOf('/');
  const colon = reference.lastIndexOf(':');
  if (slash <= 0 || colon <= slash || reference.includes('@')) return undefined;
  return {
    registry: reference.slice(0, slash),
    repository: reference.slice(slash + 1, colon),
    tag: reference.slice(colon + 1),
  };
}
