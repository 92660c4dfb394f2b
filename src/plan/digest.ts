import type { ContextFile } from '../render/context.js';
import { sha256Hex } from '../util/hash.js';

/** Bumped whenever what goes into the digest changes, so old images stop matching. */
const DIGEST_SCHEME = 2;

export interface DigestInputs {
  /** The rendered Dockerfile with run-specific strings (tag, image namespace) replaced by placeholders. */
  normalizedDockerfile: string;
  contextFiles: readonly ContextFile[];
  /** The parent's input digest, or the identity of the outside base image for a root. */
  parentIdentity: string;
  engineOptions: Record<string, string>;
}

/** Equal digests mean an equal image: BuildKit-style, the parent's key is part of the child's. */
export function inputDigest(inputs: DigestInputs): string {
  const canonical = JSON.stringify({
    scheme: DIGEST_SCHEME,
    dockerfile: inputs.normalizedDockerfile,
    files: inputs.contextFiles.map((file) => [
      file.path,
      file.executable ? 'x' : '-',
      'content' in file ? sha256Hex(file.content) : file.identity,
    ]),
    parent: inputs.parentIdentity,
    engine: Object.entries(inputs.engineOptions).sort(([a], [b]) => a.localeCompare(b)),
  });
  return `sha256:${sha256Hex(canonical)}`;
}

/** Replaces every occurrence of run-specific strings, longest first, so a re-run with a new tag digests the same. */
export function normalizeRunStrings(text: string, replacements: Record<string, string>): string {
  const entries = Object.entries(replacements)
    .filter(([value]) => value !== '')
    .sort(([a], [b]) => b.length - a.length);
  let result = text;
  for (const [value, placeholder] of entries) result = result.split(value).join(placeholder);
  return result;
}
