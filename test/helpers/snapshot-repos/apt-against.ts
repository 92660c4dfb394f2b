import assert from 'node:assert/strict';
import type { Engine } from '../../../src/engine/types.js';
import { SNAPSHOT_SUITE, SNAPSHOT_VERSIONS, type SnapshotName } from '../snapshot-repos.js';

/** How an image reaches the stand-in Pulp: its origin and the distribution's credential. */
export interface PulpAccess {
  origin: string;
  username: string;
  password: string;
}

/**
 * apt inside the image pointed at one version of the distribution (its own sources replaced), the credential in
 * apt's auth.conf, then `apt-get <aptCommand>`: what apt itself would do against that snapshot.
 */
export async function aptAgainst(
  engine: Engine,
  reference: string,
  pulp: PulpAccess,
  snapshot: SnapshotName,
  aptCommand: string,
): Promise<string> {
  const ran = await engine.run({
    reference,
    user: 'root',
    env: { PULP_USERNAME: pulp.username, PULP_PASSWORD: pulp.password },
    command: [
      'sh',
      '-ec',
      [
        'rm -f /etc/apt/sources.list.d/*',
        `echo 'deb [trusted=yes] ${pulp.origin}/pulp/content/debian/${SNAPSHOT_VERSIONS[snapshot]}/ ${SNAPSHOT_SUITE} main' > /etc/apt/sources.list`,
        // With its scheme: apt gives an auth.conf credential to plain http only when the entry names http://.
        `printf 'machine ${pulp.origin}\\nlogin %s\\npassword %s\\n' "$PULP_USERNAME" "$PULP_PASSWORD" > /etc/apt/auth.conf.d/pulp.conf`,
        'chmod 0600 /etc/apt/auth.conf.d/pulp.conf',
        'apt-get -o APT::Sandbox::User=root update -qq',
        `apt-get -o APT::Sandbox::User=root ${aptCommand}`,
      ].join('\n'),
    ],
  });
  assert.ok(ran.ok, ran.ok ? '' : ran.failure.message);
  assert.equal(ran.value.exitCode, 0, ran.value.output);
  return ran.value.output;
}

/** `Inst name [installed] (candidate ...)` lines of a simulated apt run: name → [installed or '', candidate]. */
export function simulatedInstalls(output: string): Map<string, [string, string]> {
  const installs = new Map<string, [string, string]>();
  for (const match of output.matchAll(/^Inst (\S+) (?:\[(\S+)\] )?\((\S+) /gm))
    installs.set(match[1] ?? '', [match[2] ?? '', match[3] ?? '']);
  return installs;
}
