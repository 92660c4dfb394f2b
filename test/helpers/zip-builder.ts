import { constants, deflateRawSync } from 'node:zlib';

/** One member as written, its header fields free to lie about what the data holds. */
export interface RawMember {
  name: string;
  /** The bytes stored after the local header (deflated already when method is 8). */
  data: Buffer;
  method?: 0 | 8;
  /** The uncompressed size the headers declare. */
  declaredSize: number;
  /** The central directory's extra field, as written (zip64 fields go here). */
  extra?: Buffer;
}

/**
 * A zip archive written field by field, so tests can make headers that disagree with the data
 * (a bomb whose header claims a few bytes, a zip64 field cut short) without a gigabyte on disk.
 */
export function rawZip(members: readonly RawMember[]): Buffer {
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const member of members) {
    const name = Buffer.from(member.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(member.method ?? 8, 8);
    local.writeUInt32LE(member.data.length, 18);
    local.writeUInt32LE(Math.min(member.declaredSize, 0xffffffff), 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, member.data);
    const extra = member.extra ?? Buffer.alloc(0);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(member.method ?? 8, 10);
    entry.writeUInt32LE(member.data.length, 20);
    entry.writeUInt32LE(Math.min(member.declaredSize, 0xffffffff), 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(extra.length, 30);
    entry.writeUInt32LE(offset, 42);
    directory.push(entry, name, extra);
    offset += 30 + name.length + member.data.length;
  }
  const central = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(members.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(members.length, 0xffff), 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, central, end]);
}

/**
 * A raw deflate stream of `mebibytes` MiB of zeros, about 1 KiB per MiB: one fully flushed
 * segment (independent of what came before) repeated, then an empty final block.
 */
export function zeroBomb(mebibytes: number): Buffer {
  const segment = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array<Buffer>(mebibytes).fill(segment), Buffer.from([0x03, 0x00])]);
}
