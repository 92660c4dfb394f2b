/**
 * Headers of a POSIX tar (ustar, with pax records for what ustar cannot hold), as OCI image layers are written:
 * one 512-byte header per member, its content padded to 512 bytes, two zero blocks at the end.
 */

export const TAR_BLOCK = 512;

export type TarMemberKind = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

const TYPE_FLAG: Record<TarMemberKind, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

export interface TarMember {
  /** Relative, `/`-separated, without a leading `./`; a folder's without its trailing `/` (added here). */
  path: string;
  kind: TarMemberKind;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content: only a regular file has any. */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** A symbolic link's target, or the earlier member a hard link is of. */
  linkName?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes, written as pax `SCHILY.xattr.` records (what containers-storage reads back). */
  xattrs?: ReadonlyMap<string, Buffer>;
}

/** The largest values ustar's octal fields hold: beyond them a pax record carries the value. */
const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;

/** The header blocks of one member: a pax header first where ustar's fields cannot hold it. */
export function tarHeader(member: TarMember): Buffer {
  const name = member.kind === 'directory' ? `${member.path}/` : member.path;
  const linkName = member.linkName ?? '';
  const records: Array<[string, Buffer | string]> = [];
  if (!fitsField(name, 100)) records.push(['path', name]);
  if (!fitsField(linkName, 100)) records.push(['linkpath', linkName]);
  if (member.uid > MAX_ID) records.push(['uid', String(member.uid)]);
  if (member.gid > MAX_ID) records.push(['gid', String(member.gid)]);
  if (member.size > MAX_SIZE) records.push(['size', String(member.size)]);
  for (const [key, value] of member.xattrs ?? []) records.push([`SCHILY.xattr.${key}`, value]);

  const ustar = ustarBlock({
    name: fitsField(name, 100) ? name : shortName(name),
    mode: member.mode & 0o7777,
    uid: Math.min(member.uid, MAX_ID),
    gid: Math.min(member.gid, MAX_ID),
    size: member.size > MAX_SIZE ? 0 : member.size,
    mtime: member.mtime,
    type: TYPE_FLAG[member.kind],
    linkName: fitsField(linkName, 100) ? linkName : shortName(linkName),
    devMajor: member.devMajor ?? 0,
    devMinor: member.devMinor ?? 0,
  });
  if (records.length === 0) return ustar;
  const pax = paxRecords(records);
  const paxHeader = ustarBlock({
    name: shortName(`PaxHeaders/${name}`),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: member.mtime,
    type: 'x',
    linkName: '',
    devMajor: 0,
    devMinor: 0,
  });
  return Buffer.concat([paxHeader, pax, padding(pax.length), ustar]);
}

/** The zeros that fill a member's content up to the next block. */
export function padding(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest);
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK);
}

/** Whether a name fits ustar's field as it is: short enough and plain ASCII (anything else goes to pax, UTF-8). */
function fitsField(value: string, length: number): boolean {
  return Buffer.byteLength(value) <= length && /^[\x20-\x7e]*$/.test(value);
}

/** What the ustar field holds of a name a pax record carries whole: a readable stand-in for old readers. */
function shortName(value: string): string {
  return Buffer.from(value.replace(/[^\x20-\x7e]/g, '_'))
    .subarray(0, 99)
    .toString('latin1');
}

/** Pax records, each `<length> <key>=<value>\n` where the length counts the whole record, its own digits too. */
function paxRecords(records: ReadonlyArray<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
    // The length counts its own digits: settle on the count whose digits it then includes.
    let length = body.length + 1;
    while (body.length + String(length).length !== length) length = body.length + String(length).length;
    parts.push(Buffer.from(String(length)), body);
  }
  return Buffer.concat(parts);
}

interface UstarFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkName: string;
  devMajor: number;
  devMinor: number;
}

function ustarBlock(fields: UstarFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK);
  block.write(fields.name, 0, 100, 'latin1');
  octal(block, 100, 8, fields.mode);
  octal(block, 108, 8, fields.uid);
  octal(block, 116, 8, fields.gid);
  octal(block, 124, 12, fields.size);
  octal(block, 136, 12, Math.max(0, Math.floor(fields.mtime)));
  block.write(fields.type, 156, 1, 'latin1');
  block.write(fields.linkName, 157, 100, 'latin1');
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(block, 329, 8, fields.devMajor);
  octal(block, 337, 8, fields.devMinor);
  // The checksum is summed with its own field as spaces, then written as six digits, a NUL and a space.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return block;
}

/** A number in a field: octal digits, zero-padded, NUL-terminated. */
function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}
