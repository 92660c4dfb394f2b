import type { Engine } from '../../src/engine/index.js';

/**
 * path → what `dpkg --verify` says of it inside the image (`missing`, or its flags such as `??5?????? c`):
 * each installed file checked against the checksums dpkg recorded. Two images holding the same packages can
 * still differ here, in a file a package owns but one image lacks or has changed, which name=version cannot see.
 */
export async function verifiedFiles(engine: Engine, reference: string): Promise<Map<string, string>> {
  // buildah's chroot runs fail now and then on a busy host, never twice in a row (see installed-packages.ts).
  for (let attempt = 1; ; attempt++) {
    const ran = await engine.run({ reference, command: ['dpkg', '--verify'], user: 'root' });
    if (ran.ok && ran.value.exitCode === 0) return parseVerify(ran.value.output);
    if (attempt === 2) {
      const why = ran.ok ? `exited ${ran.value.exitCode}: ${ran.value.output.trim().slice(-200)}` : ran.failure.message;
      throw new Error(`dpkg --verify in ${reference} ${why}`);
    }
  }
}

/** `missing     /path` and `??5?????? c /path` lines; anything else dpkg prints (a warning) is not a file. */
export function parseVerify(output: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^(missing|[?.0-9A-Za-z]{9}) +(c )?(\/.*)$/.exec(line.trimEnd());
    if (match?.[1] && match[3]) files.set(match[3], `${match[1]}${match[2] ? ' c' : ''}`);
  }
  return files;
}

/** dpkg's `path-exclude=` / `path-include=` lines, in order: the last one a path matches decides. */
export type PathFilters = Array<{ exclude: boolean; pattern: RegExp }>;

/** The filters of a dpkg.cfg.d file. dpkg matches with fnmatch and no FNM_PATHNAME: `*` crosses `/`. */
export function parsePathFilters(text: string): PathFilters {
  return text.split('\n').flatMap((line) => {
    const match = /^path-(exclude|include)=(\S+)$/.exec(line.trim());
    if (!match?.[1] || !match[2]) return [];
    const glob = match[2]
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return [{ exclude: match[1] === 'exclude', pattern: new RegExp(`^${glob}$`) }];
  });
}

/** Whether dpkg leaves this path out when it unpacks a package. */
export function excludedByDpkg(path: string, filters: PathFilters): boolean {
  let excluded = false;
  for (const filter of filters) if (filter.pattern.test(path)) excluded = filter.exclude;
  return excluded;
}
