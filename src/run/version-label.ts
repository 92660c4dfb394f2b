import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, EngineFailure, ImageInfo } from '../engine/types.js';
import { fail, ok, type Result } from '../util/result.js';

export const VERSION_PACKAGE_LABEL = 'ci-builder.version-package';
export const VERSION_LABEL = 'org.opencontainers.image.version';

/**
 * The version label of an image a respin patched, where the service's package is among those it moved: the
 * version it installed, as dpkg-query would say it (else the earlier image's label stands).
 */
export function patchedVersionLabel(
  earlierLabels: Record<string, string>,
  moved: ReadonlyArray<{ name: string; to: string }>,
): Record<string, string> {
  const service = earlierLabels[VERSION_PACKAGE_LABEL];
  const entry = moved.find((candidate) => candidate.name === service);
  return entry === undefined ? {} : { [VERSION_LABEL]: entry.to };
}

/**
 * The version of an image is the version of the package that is its service, known only
 * once the package is installed: it is read from the built image and added as a label by
 * a metadata-only build on top (no new layer). `installed` is what dpkg's status of the built image lists,
 * where the build read it already (through the engine's mount or a copy); else dpkg is asked in a container.
 */
export async function addVersionLabel(
  engine: Engine,
  reference: string,
  built: ImageInfo,
  signal: AbortSignal,
  onLine: (line: string) => void,
  installed?: ReadonlyArray<{ name: string; version: string }>,
): Promise<Result<ImageInfo, EngineFailure>> {
  const pkg = built.labels[VERSION_PACKAGE_LABEL];
  if (pkg === undefined) return ok(built);
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(pkg)) {
    return fail({ kind: 'build', message: `${VERSION_PACKAGE_LABEL} "${pkg}" is not a package name` });
  }
  const listed = installed?.find((entry) => entry.name === pkg)?.version;
  const version = listed !== undefined ? ok(listed) : await askDpkg(engine, reference, pkg, onLine);
  if (!version.ok) return version;
  return labelVersion(engine, reference, built, version.value, signal, onLine);
}

/** The version dpkg-query gives in a container of the image, or the failure to read it. */
async function askDpkg(
  engine: Engine,
  reference: string,
  pkg: string,
  onLine: (line: string) => void,
): Promise<Result<string, EngineFailure>> {
  const unreadable = `cannot read the version of ${pkg} in the image`;
  const ask = () => engine.run({ reference, command: ['dpkg-query', '-W', '-f=${Version}', pkg], user: 'root' });
  let query = await ask();
  if (query.ok && (query.value.exitCode !== 0 || query.value.output.trim() === '')) {
    // Seen rarely with buildah's chroot runs on a busy host, never twice in a row: asked once more, and said.
    onLine(`reading the version of ${pkg} failed (exit ${query.value.exitCode}): ${query.value.output.trim()}`);
    query = await ask();
  }
  if (!query.ok) return fail({ kind: query.failure.kind, message: `${unreadable}: ${query.failure.message}` });
  const version = query.value.output.trim();
  if (query.value.exitCode !== 0 || version === '') {
    // The engine's own last line ("Error: exit status 1") says less than the command's own words before it.
    const said = version
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !/^(Error: )?exit status \d+$/.test(line));
    return fail({
      kind: 'build',
      message: `${unreadable}: ${said.slice(-2).join('; ') || `exit ${query.value.exitCode}`}`,
    });
  }
  return ok(version);
}

/** The image again with the version label, by a metadata-only build; the unlabelled image removed. */
async function labelVersion(
  engine: Engine,
  reference: string,
  built: ImageInfo,
  version: string,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<Result<ImageInfo, EngineFailure>> {
  const context = await mkdtemp(join(tmpdir(), 'ci-builder-label-'));
  try {
    await writeFile(
      join(context, 'Dockerfile'),
      `FROM ${reference}\nLABEL ${VERSION_LABEL}="${version.replace(/["\\]/g, '')}"\n`,
    );
    const labelled = await engine.build({ contextDir: context, reference, labels: {}, signal, onLine });
    if (!labelled.ok) {
      return fail({
        kind: labelled.failure.kind,
        message: `adding the version label failed: ${labelled.failure.message}`,
      });
    }
    // The unlabelled image is gone from every tag; remove it so only the labelled one matches its input digest.
    // An engine that keeps it (docker refuses to remove a parent of another image) costs nothing but
    // disk: the labelled image is built and tagged, which is what the run asked for.
    if (labelled.value.id !== built.id) await engine.remove(built.id);
    return ok(labelled.value);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
