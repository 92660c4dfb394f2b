import { Writable } from 'node:stream';

/** A stream that keeps what a reporter writes, for the test to read. */
export function capture(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out, text: () => text };
}
