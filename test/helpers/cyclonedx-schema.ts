import assert from 'node:assert/strict';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

/** Asserts that a CycloneDX JSON document is valid against the official schema of the version it declares. */
export async function assertValidCycloneDx(json: string): Promise<void> {
  const declared = (JSON.parse(json) as { specVersion?: string }).specVersion;
  const version = Object.values(Spec.Version).find((known) => known === declared);
  assert.ok(version, `a CycloneDX version the library knows: ${declared}`);
  const errors: unknown = await new Validation.JsonStrictValidator(version).validate(json);
  assert.equal(errors, null, `invalid CycloneDX ${version}: ${JSON.stringify(errors, null, 2)}`);
}
