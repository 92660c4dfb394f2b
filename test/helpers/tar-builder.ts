/** One tar member as written: a header whose size field may disagree with the bytes that follow. */
export interface RawTarMember {
  path: string;
  /** '0' file, '5' folder, 'x' pax header, 'L' GNU long name… */
  type?: string;
  content?: Buffer;
  /** The size the header declares (default: the content's length). */
  declaredSize?: number;
}

function header(member: RawTarMember): Buffer {
  const block = Buffer.alloc(512);
  block.write(member.path.slice(0, 100), 0, 'utf8');
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  const size = member.declaredSize ?? member.content?.length ?? 0;
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write(member.type ?? '0', 156);
  block.write('ustar\0', 257);
  block.write('00', 263);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

/**
 * A tar stream written header by header, for the shapes GNU tar will not make: a member cut short,
 * a pax header of megabytes, thousands of whiteouts without thousands of files on disk.
 */
export function rawTar(members: readonly RawTarMember[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const member of members) {
    parts.push(header(member));
    const content = member.content ?? Buffer.alloc(0);
    parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  if (options.end ?? true) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
