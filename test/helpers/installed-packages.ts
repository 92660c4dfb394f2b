import type { Engine } from '../../src/engine/index.js';

/** name → version of every package dpkg has installed in the image, as `dpkg-query -W` lists them inside it. */
export async function installedPackages(engine: Engine, reference: string): Promise<Map<string, string>> {
  // buildah's chroot runs fail now and then on a busy host, never twice in a row: once exit 0 with no output at
  // all, once exit 1 with runc's "Close_Fd sealing memfd copy: Device or resource busy". Asked again, they answer.
  for (let attempt = 1; ; attempt++) {
    const installed = await queryInstalled(engine, reference).catch((error: unknown) => {
      if (attempt === 2) throw error;
      return new Map<string, string>();
    });
    if (installed.size > 0) return installed;
    if (attempt === 2) throw new Error(`dpkg-query in ${reference} listed no installed package, twice`);
  }
}

async function queryInstalled(engine: Engine, reference: string): Promise<Map<string, string>> {
  const ran = await engine.run({
    reference,
    command: ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\n'],
    user: 'root',
  });
  if (!ran.ok) throw new Error(`dpkg-query in ${reference}: ${ran.failure.message}`);
  if (ran.value.exitCode !== 0)
    throw new Error(`dpkg-query in ${reference} exited ${ran.value.exitCode}: ${ran.value.output}`);
  const installed = new Map<string, string>();
  for (const line of ran.value.output.split('\n')) {
    const [status, name, version] = line.split('\t');
    // `ii `: installed; a package removed but not purged (`rc `) is not in the image's package set.
    if (status?.startsWith('ii') && name && version) installed.set(name, version);
  }
  return installed;
}
