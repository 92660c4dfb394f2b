import { describeFailure, runProcess } from '../util/process.js';

/** The extended attributes of an overlayfs upper folder that a layer's tar must say. */
export interface UpperXattrs {
  /** Folders emptied and made again: overlayfs marks them so nothing of the layers below shows through. */
  opaque: ReadonlySet<string>;
  /** File capabilities (`security.capability`), by path: a package's `setcap` is part of its install. */
  capabilities: ReadonlyMap<string, Buffer>;
}

const OPAQUE = 'trusted.overlay.opaque';
const CAPABILITY = 'security.capability';

/**
 * The opaque marks and file capabilities under an upper folder, by path relative to it. Node has no call for
 * extended attributes, so `getfattr` (Debian's `attr`) walks the folder once, links not followed, asked for
 * those two names alone.
 */
export async function readUpperXattrs(upper: string, signal?: AbortSignal): Promise<UpperXattrs> {
  const pattern = `^(${OPAQUE.replaceAll('.', '\\.')}|${CAPABILITY.replaceAll('.', '\\.')})$`;
  const args = ['--recursive', '--physical', '--no-dereference', '--absolute-names', '--dump', '--encoding=hex'];
  const ran = await runProcess('getfattr', [...args, `--match=${pattern}`, upper], {
    captureStdout: true,
    ...(signal ? { signal } : {}),
  });
  // getfattr exits 1 when a file vanished or cannot be read; its output is then not the whole folder's.
  if (ran.exitCode !== 0) throw new Error(describeFailure('getfattr', ran));
  return parseDump(ran.stdout, upper);
}

/** getfattr's dump: `# file: <path>` then `name=0x<hex>` lines, a blank line between files. */
export function parseDump(dump: string, upper: string): UpperXattrs {
  const opaque = new Set<string>();
  const capabilities = new Map<string, Buffer>();
  const prefix = `${upper.replace(/\/+$/, '')}/`;
  let path: string | undefined;
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) {
      const file = unescapeName(line.slice('# file: '.length));
      path = file.startsWith(prefix) ? file.slice(prefix.length) : '';
      continue;
    }
    const at = line.indexOf('=');
    if (path === undefined || at < 0) continue;
    const name = line.slice(0, at);
    const value = hexValue(line.slice(at + 1));
    if (name === OPAQUE && value.toString('latin1') === 'y') opaque.add(path);
    if (name === CAPABILITY) capabilities.set(path, value);
  }
  return { opaque, capabilities };
}

function hexValue(text: string): Buffer {
  if (!text.startsWith('0x')) throw new Error(`getfattr gave a value not in hex: ${text.slice(0, 20)}`);
  return Buffer.from(text.slice(2), 'hex');
}

/** getfattr writes a name's backslashes and bytes outside printable ASCII as `\ooo`. */
function unescapeName(text: string): string {
  const bytes: number[] = [];
  for (let at = 0; at < text.length; at += 1) {
    const octal = text.slice(at + 1, at + 4);
    if (text[at] === '\\' && /^[0-7]{3}$/.test(octal)) {
      bytes.push(Number.parseInt(octal, 8));
      at += 3;
    } else {
      bytes.push(...Buffer.from(text[at] ?? ''));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
