/** The last path component of a reference, without registry, digest or tag. */
function lastComponent(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? reference;
  return withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
}

/** `registry:5000/ns/keystone-api:tag@sha256:…` → `keystone-api`. */
export function imageNameOf(reference: string): string {
  const last = lastComponent(reference);
  const colon = last.indexOf(':');
  return colon >= 0 ? last.slice(0, colon) : last;
}

/** `registry:5000/ns/keystone-api:tag` → `tag`; '' when the reference names no tag. */
export function tagOf(reference: string): string {
  const last = lastComponent(reference);
  const colon = last.indexOf(':');
  return colon >= 0 ? last.slice(colon + 1) : '';
}

/** `registry:5000/ns/keystone-api:tag@sha256:…` → `registry:5000/ns/keystone-api`. */
export function repositoryOf(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? reference;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', slash + 1);
  return colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest;
}
