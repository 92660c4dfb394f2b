import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createAppendStream, makeRunSubfolder } from '../util/append-stream.js';
import type { Reporter, RunEvent } from './events.js';

/** The base image's output goes to logs/base-image.log, as its engine lines do. */
export const BASE_IMAGE_LOG = 'base-image';

/** logs/<image>.log per image and one combined build.log with every line, streamed as they come. */
export class LogFilesReporter implements Reporter {
  private readonly perImage = new Map<string, WriteStream>();
  private readonly combined: WriteStream;

  constructor(private readonly runDir: string) {
    makeRunSubfolder(join(runDir, 'logs'));
    this.combined = createAppendStream(join(runDir, 'build.log'));
  }

  handle(event: RunEvent): void {
    if (event.type === 'image' && event.reason === 'log') {
      this.imageLog(event.name).write(`${event.line}\n`);
      this.combined.write(`${event.at} ${event.name}| ${event.line}\n`);
      return;
    }
    const { at, type, ...rest } = event;
    const text = `${at} ${type} ${JSON.stringify(rest)}\n`;
    this.combined.write(text);
    const image = imageLogOf(event);
    if (image !== undefined) this.imageLog(image).write(text);
  }

  async close(): Promise<void> {
    const streams = [...this.perImage.values(), this.combined];
    for (const stream of streams) stream.end();
    await Promise.all(streams.filter((stream) => !stream.closed).map((stream) => once(stream, 'close')));
  }

  private imageLog(name: string): WriteStream {
    let stream = this.perImage.get(name);
    if (stream === undefined) {
      stream = createAppendStream(join(this.runDir, 'logs', `${name}.log`));
      this.perImage.set(name, stream);
    }
    return stream;
  }
}

/** The image whose own log file an event belongs in, if any: images that never start get none. */
function imageLogOf(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run':
    case 'warning':
      return undefined;
    case 'base-image':
      return BASE_IMAGE_LOG;
    case 'push':
    case 'scan':
      return event.name;
    case 'image':
      switch (event.reason) {
        case 'queued':
        case 'not-matched':
        case 'unbuildable':
          return undefined;
        case 'planned':
        case 'patched':
        case 'failed':
        case 'started':
        case 'log':
        case 'built':
        case 'reused':
        case 'retrying':
        case 'skipped':
          return event.name;
        default: {
          const never: never = event;
          return never;
        }
      }
    default: {
      const never: never = event;
      return never;
    }
  }
}
