import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createAppendStream, makeRunSubfolder } from '../util/append-stream.js';
import type { Reporter, RunEvent } from './events.js';

/** Images in these states never start, so they get no log file of their own. */
const notBuiltReasons = new Set(['queued', 'not-matched', 'unbuildable']);

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
    const name = 'name' in event ? event.name : undefined;
    const text = `${at} ${type} ${JSON.stringify(rest)}\n`;
    this.combined.write(text);
    if (name !== undefined && !(event.type === 'image' && notBuiltReasons.has(event.reason))) this.imageLog(name).write(text);
  }

  async close(): Promise<void> {
    const streams = [...this.perImage.values(), this.combined];
    for (const stream of streams) stream.end();
    await Promise.all(streams.map((stream) => (stream.closed ? undefined : once(stream, 'close'))));
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
