import type { Models } from '@cyclonedx/cyclonedx-library';
import parseSpdxExpression from 'spdx-expression-parse';
import { tagOf } from './image-reference.js';
import { imagePurl, purlOf } from './purl.js';
import type { InstalledPackage, Inventory, OsRelease } from './types.js';

/** The library, loaded when an SBOM is written: it is large, and most commands write none. */
type CycloneDxLibrary = typeof import('@cyclonedx/cyclonedx-library');

export interface SbomSubject {
  reference: string;
  name: string;
  toolVersion: string;
  /** The image's manifest digest, when the engine knows it. */
  digest?: string;
}

export const SBOM_SPEC_VERSIONS = ['1.5', '1.6'] as const;
export type SbomSpecVersion = (typeof SBOM_SPEC_VERSIONS)[number];

export interface SbomOptions {
  specVersion?: SbomSpecVersion;
  now?: Date;
}

const PROPERTY = {
  source: 'ci-builder:package:source',
  location: 'ci-builder:package:location',
  owner: 'ci-builder:package:owner',
  installer: 'ci-builder:package:installer',
  state: 'ci-builder:package:dpkg-state',
  reference: 'ci-builder:image:reference',
} as const;

/** The image: its oci purl (the manifest digest as version) is what identifies it, whatever its tags. */
function imageComponent(cdx: CycloneDxLibrary, subject: SbomSubject): Models.Component {
  const purl = imagePurl(subject.reference, subject.digest);
  const tag = tagOf(subject.reference);
  const image = new cdx.Models.Component(cdx.Enums.ComponentType.Container, subject.name, {
    bomRef: purl,
    purl,
    ...(tag ? { version: tag } : {}),
  });
  if (subject.digest) image.hashes.set(cdx.Enums.HashAlgorithm['SHA-256'], subject.digest.replace(/^sha256:/, ''));
  image.properties.add(new cdx.Models.Property(PROPERTY.reference, subject.reference));
  return image;
}

function osComponent(cdx: CycloneDxLibrary, os: OsRelease): Models.Component {
  const version = os.pointRelease ?? (os.versionId || os.codename);
  return new cdx.Models.Component(cdx.Enums.ComponentType.OperatingSystem, os.id, {
    bomRef: `os:${os.id}-${version}`,
    version,
    ...(os.prettyName ? { description: os.prettyName } : {}),
  });
}

/**
 * CycloneDX allows either licences (SPDX ids or names) or one SPDX expression: a lone declared value
 * that parses as an expression is one; every other value is an SPDX id when it names one, else a name.
 */
function licensesOf(cdx: CycloneDxLibrary, declared: readonly string[]): Models.License[] {
  const factory = new cdx.Contrib.License.Factories.LicenseFactory((text) => void parseSpdxExpression(text));
  const [only] = declared;
  if (declared.length === 1 && only !== undefined) return [factory.makeFromString(only)];
  return declared.map((value) => factory.makeDisjunctive(value));
}

function packageComponent(cdx: CycloneDxLibrary, pkg: InstalledPackage, purl: string, ref: string) {
  const component = new cdx.Models.Component(cdx.Enums.ComponentType.Library, pkg.name, {
    bomRef: ref,
    version: pkg.version,
    purl,
  });
  const add = (name: string, value: string) => component.properties.add(new cdx.Models.Property(name, value));
  if (pkg.sourceName !== pkg.name || pkg.sourceVersion !== pkg.version) {
    add(PROPERTY.source, `${pkg.sourceName} ${pkg.sourceVersion}`);
  }
  if (pkg.location) add(PROPERTY.location, pkg.location);
  if (pkg.installer) add(PROPERTY.installer, pkg.installer);
  if (pkg.state) add(PROPERTY.state, pkg.state);
  for (const license of licensesOf(cdx, pkg.licenses ?? [])) component.licenses.add(license);
  return component;
}

/** Unique bom-refs: the same Python distribution may sit in two site-packages folders. */
function uniqueRef(purl: string, taken: Set<string>): string {
  let ref = purl;
  for (let copy = 2; taken.has(ref); copy++) ref = `${purl}#${copy}`;
  taken.add(ref);
  return ref;
}

/**
 * The inventory as a CycloneDX JSON BOM, written by the CycloneDX library: the image (digest and
 * `pkg:oci` purl), its operating system at its point release, one component per package with its
 * declared licences, and the dependency graph: the image on its OS and on the Python distributions
 * no OS package installed, the OS on its packages, each package on those it depends on (dpkg's
 * Depends and Pre-Depends, rpm's requires) and on the Python distributions it installed, each of
 * which names that owner in a property.
 */
export async function cycloneDxJson(
  inventory: Inventory,
  subject: SbomSubject,
  options: SbomOptions = {},
): Promise<string> {
  const cdx = await import('@cyclonedx/cyclonedx-library');
  const bom = new cdx.Models.Bom();
  bom.serialNumber = cdx.Contrib.Bom.Utils.randomSerialNumber();
  bom.metadata.timestamp = options.now ?? new Date();
  const tool = { version: subject.toolVersion };
  bom.metadata.tools.components.add(new cdx.Models.Component(cdx.Enums.ComponentType.Application, 'ci-builder', tool));
  const image = imageComponent(cdx, subject);
  bom.metadata.component = image;
  const os = inventory.os ? osComponent(cdx, inventory.os) : undefined;
  if (os) {
    bom.components.add(os);
    image.dependencies.add(os.bomRef);
  }
  const refs = new Set<string>();
  const byName = new Map<string, Models.Component[]>();
  const placed = inventory.packages.map((pkg) => {
    const purl = purlOf(pkg, inventory.os);
    const component = packageComponent(cdx, pkg, purl, uniqueRef(purl, refs));
    bom.components.add(component);
    const key = `${pkg.type}\0${pkg.name}`;
    byName.set(key, [...(byName.get(key) ?? []), component]);
    return { pkg, component };
  });
  for (const { pkg, component } of placed) {
    for (const name of pkg.dependsOn ?? []) {
      for (const dependency of byName.get(`${pkg.type}\0${name}`) ?? []) component.dependencies.add(dependency.bomRef);
    }
    if (pkg.type !== 'pypi') os?.dependencies.add(component.bomRef);
    else if (!pkg.owner) image.dependencies.add(component.bomRef);
    const owner = pkg.owner ? byName.get(`${pkg.owner.type}\0${pkg.owner.name}`)?.[0] : undefined;
    if (owner) {
      owner.dependencies.add(component.bomRef);
      const ownerRef = owner.bomRef.value;
      if (ownerRef) component.properties.add(new cdx.Models.Property(PROPERTY.owner, ownerRef));
    } else if (pkg.type === 'pypi' && pkg.owner) image.dependencies.add(component.bomRef);
  }
  const spec = options.specVersion === '1.6' ? cdx.Spec.Spec1dot6 : cdx.Spec.Spec1dot5;
  const serializer = new cdx.Serialize.JsonSerializer(new cdx.Serialize.JSON.Normalize.Factory(spec));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}
