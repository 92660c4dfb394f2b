import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, ImageInfo } from '../engine/types.js';
import { fail, ok, type Result } from '../util/result.js';

export const VERSION_PACKAGE_LABEL = 'ci-builder.version-package';
export const VERSION_LABEL = 'org.opencontainers.image.version';

/**
 * The version of an image is the version of the package that is its service, known only
 * once the package is installed: it is read from the built image and added as a label by
 * a metadata-only build on top (no new layer).
 */
export async function addVersionLabel(engine: Engine, reference: string, built: ImageInfo, signal: AbortSignal, onLine: (line: string) => void): Promise<Result<ImageInfo, string>> {
  const pkg = built.labels[VERSION_PACKAGE_LABEL];
  if (pkg === undefined) return ok(built);
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(pkg)) return fail(`${VERSION_PACKAGE_LABEL} "${pkg}" is not a package name`);
  const query = await engine.run({ reference, command: ['dpkg-query', '-W', '-f=${Version}', pkg], user: 'root' });
  const version = query.output.trim();
  if (query.exitCode !== 0 || version === '') return fail(`cannot read the version of ${pkg} in the image: ${query.output.trim().split('\n').at(-1) ?? ''}`);
  const context = await mkdtemp(join(tmpdir(), 'ci-builder-label-'));
  try {
    await writeFile(join(context, 'Dockerfile'), `FROM ${reference}\nLABEL ${VERSION_LABEL}="${version.replace(/["\\]/g, '')}"\n`);
    const labelled = await engine.build({ contextDir: context, reference, labels: {}, signal, onLine });
    if (!labelled.ok) return fail(`adding the version label failed: ${labelled.failure.message}`);
    // The unlabelled image is gone from every tag; remove it so only the labelled one matches its input digest.
    if (labelled.value.id !== built.id) await engine.remove(built.id);
    return ok(labelled.value);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
