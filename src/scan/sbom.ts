import { randomUUID } from 'node:crypto';
import { tagOf } from './image-reference.js';
import { purlOf } from './purl.js';
import type { Inventory } from './types.js';

export interface SbomSubject {
  reference: string;
  name: string;
  toolVersion: string;
  /** The image's manifest digest, when known. */
  digest?: string;
}

interface CycloneDxComponent {
  type: 'library' | 'operating-system' | 'container';
  'bom-ref': string;
  name: string;
  version: string;
  purl?: string;
  properties?: Array<{ name: string; value: string }>;
}

/** The inventory as a CycloneDX 1.5 JSON BOM: the image, its operating system and one component per package. */
export function cycloneDx(inventory: Inventory, subject: SbomSubject, now = new Date()): Record<string, unknown> {
  const components: CycloneDxComponent[] = [];
  if (inventory.os) {
    const { id, versionId, codename } = inventory.os;
    components.push({ type: 'operating-system', 'bom-ref': `os:${id}`, name: id, version: versionId || codename });
  }
  const refs = new Set<string>();
  for (const pkg of inventory.packages) {
    const purl = purlOf(pkg, inventory.os);
    // The same Python distribution may sit in two site-packages folders: bom-refs must stay unique.
    let ref = purl;
    for (let copy = 2; refs.has(ref); copy++) ref = `${purl}#${copy}`;
    refs.add(ref);
    const properties = [
      ...(pkg.sourceName !== pkg.name || pkg.sourceVersion !== pkg.version
        ? [{ name: 'ci-builder:package:source', value: `${pkg.sourceName} ${pkg.sourceVersion}` }]
        : []),
      ...(pkg.location ? [{ name: 'ci-builder:package:location', value: pkg.location }] : []),
    ];
    const extra = properties.length > 0 ? { properties } : {};
    components.push({ type: 'library', 'bom-ref': ref, name: pkg.name, version: pkg.version, purl, ...extra });
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      tools: { components: [{ type: 'application', name: 'ci-builder', version: subject.toolVersion }] },
      component: {
        type: 'container',
        'bom-ref': subject.reference,
        name: subject.name,
        ...(tagOf(subject.reference) ? { version: tagOf(subject.reference) } : {}),
        ...(subject.digest ? { hashes: [{ alg: 'SHA-256', content: subject.digest.replace(/^sha256:/, '') }] } : {}),
      },
    },
    components,
  };
}
