import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's archive keys: aptly checks every mirror's Release signature against them. */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** aptly with a root folder of its own (database, package pool, published repositories). */
export class Aptly {
  readonly configFile: string;

  constructor(
    readonly rootDir: string,
    architecture: string,
  ) {
    mkdirSync(rootDir, { recursive: true });
    this.configFile = join(rootDir, 'aptly.conf');
    // gpg, not aptly's internal OpenPGP: bookworm's release key is Ed25519, which the internal one cannot check.
    const config = { rootDir, architectures: [architecture], gpgProvider: 'gpg', downloadConcurrency: 4 };
    writeFileSync(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  /** Runs one aptly command; a failure throws with the command and the end of what aptly said. */
  async run(args: readonly string[]): Promise<string> {
    try {
      const { stdout } = await run('aptly', [`-config=${this.configFile}`, ...args], { maxBuffer: 256 * 1024 ** 2 });
      return stdout;
    } catch (error) {
      const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
      const said = `${stdout}\n${stderr}`.trim().split('\n').slice(-8).join('\n');
      throw new Error(`aptly ${args.slice(0, 3).join(' ')} failed: ${said || message}`, { cause: error });
    }
  }

  /** A filtered mirror of one suite, downloaded into the pool. */
  async mirror(name: string, url: string, suite: string, filter: string): Promise<void> {
    await this.run([
      'mirror',
      'create',
      `-keyring=${DEBIAN_KEYRING}`,
      `-filter=${filter}`,
      '-filter-with-deps',
      // `a | b` keeps both: apt may pick either, depending on what else is installed.
      '-dep-follow-all-variants',
      // debian-security's Release names its components updates/main but serves them as main/.
      '-force-components',
      name,
      url,
      suite,
      'main',
    ]);
    await this.run(['mirror', 'update', `-keyring=${DEBIAN_KEYRING}`, '-max-tries=3', name]);
  }

  /**
   * Publishes a snapshot unsigned (apt reads it with [trusted=yes]) under `prefix`, with the same origin
   * and label whatever the snapshot: only the packages differ between two published versions.
   */
  async publish(snapshot: string, prefix: string, suite: string, architecture: string): Promise<string> {
    await this.run([
      'publish',
      'snapshot',
      '-skip-signing',
      '-skip-contents',
      '-skip-bz2',
      '-origin=Debian',
      '-label=Debian',
      `-distribution=${suite}`,
      '-component=main',
      `-architectures=${architecture}`,
      snapshot,
      prefix,
    ]);
    return join(this.rootDir, 'public', prefix);
  }
}
