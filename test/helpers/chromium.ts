import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { temporaryDir } from './files.js';

/** Flags for a headless Chromium on a machine with no outside network. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
];

export function chromiumDumpDom(url: string): string {
  return execFileSync('chromium', [...FLAGS, `--user-data-dir=${temporaryDir('chromium-')}`, '--dump-dom', url], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

export function chromiumScreenshot(url: string, width = 1280, height = 1000): string {
  const file = join(temporaryDir('chromium-shot-'), 'screenshot.png');
  execFileSync(
    'chromium',
    [
      ...FLAGS,
      `--user-data-dir=${temporaryDir('chromium-')}`,
      `--window-size=${width},${height}`,
      `--screenshot=${file}`,
      url,
    ],
    { stdio: 'ignore' },
  );
  return file;
}

/** Distinct RGB colours in a PNG (8-bit RGB or RGBA, non-interlaced): a blank page has one or two. */
export function distinctColours(pngFile: string): number {
  const png = readFileSync(pngFile);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      if (body[8] !== 8 || channels === 0 || body[12] !== 0)
        throw new Error('only 8-bit RGB(A) non-interlaced PNGs are read here');
    }
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const previous = Buffer.alloc(stride);
  const current = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let row = 0; row < height; row++) {
    const filter = raw[row * (stride + 1)] ?? 0;
    const line = raw.subarray(row * (stride + 1) + 1, (row + 1) * (stride + 1));
    for (let index = 0; index < stride; index++) {
      const left = index >= channels ? (current[index - channels] ?? 0) : 0;
      const up = previous[index] ?? 0;
      const upLeft = index >= channels ? (previous[index - channels] ?? 0) : 0;
      const value = line[index] ?? 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const estimate = left + up - upLeft;
        const [a, b, c] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
        predictor = a <= b && a <= c ? left : b <= c ? up : upLeft;
      }
      current[index] = (value + predictor) & 0xff;
    }
    for (let pixel = 0; pixel < width; pixel++)
      colours.add(
        ((current[pixel * channels] ?? 0) << 16) |
          ((current[pixel * channels + 1] ?? 0) << 8) |
          (current[pixel * channels + 2] ?? 0),
      );
    current.copy(previous);
  }
  return colours.size;
}
