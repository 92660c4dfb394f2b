import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterruptedError } from '../../src/util/errors.js';
import { JsonTextError, MAX_JSON_DEPTH, parseJsonPaced } from '../../src/util/json-text.js';
import { pacer } from '../../src/util/pace.js';

const noPause = () => Promise.resolve();

/** A document well past the size parsed whole, with escapes, unicode, numbers and awkward keys. */
function largeDocument(): string {
  const images = Array.from({ length: 6000 }, (_, index) => ({
    name: `image-${index}`,
    note: 'a "quoted" \\ back\\slash, a tab\t, ünïcödé ✓ and \u2028',
    digest: `sha256:${index.toString(16).padStart(64, '0')}`,
    seconds: index / 7,
    big: 1e21,
    ok: index % 2 === 0,
    none: null,
    nested: { deeper: [[], {}, [1, [2, [3]]]] },
  }));
  return `\n {"tag": "t", "__proto__": {"polluted": true}, "images": ${JSON.stringify(images, null, 1)}, "tag": "last"}\n`;
}

describe('parsing JSON someone else made', () => {
  it('gives what JSON.parse gives, for small and large documents alike', async () => {
    for (const text of ['1', ' "x" ', 'null', '[]', '{}', '[1,"2",{"3":[4]}]', largeDocument()]) {
      assert.deepEqual(await parseJsonPaced(text, noPause), JSON.parse(text));
    }
    const parsed = (await parseJsonPaced(largeDocument(), noPause)) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype, 'a __proto__ key is an own property');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses nesting past the cap in one line, however deep (JSON.stringify of it would overflow)', async () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    await assert.rejects(parseJsonPaced(deep, noPause), (error: unknown) => {
      assert.ok(error instanceof JsonTextError);
      assert.equal(
        error.message,
        `nested deeper than the ${MAX_JSON_DEPTH} levels allowed (at position ${MAX_JSON_DEPTH})`,
      );
      return true;
    });
    const atCap = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    assert.doesNotThrow(() => JSON.stringify(JSON.parse(atCap)));
    await parseJsonPaced(atCap, noPause);
  });

  it('says what is wrong in one line, for small and large documents', async () => {
    const large = largeDocument();
    for (const text of [
      '',
      '{',
      '[1,]',
      '{"a" 1}',
      '"open',
      '[1] 2',
      `${large.slice(0, -3)}`,
      large.replace('"t",', '"t" '),
    ]) {
      await assert.rejects(parseJsonPaced(text, noPause), (error: unknown) => {
        assert.ok(error instanceof JsonTextError, String(error));
        assert.match(error.message, /^not valid JSON \(.+ at position \d+\)$/);
        return true;
      });
    }
  });

  it('turns the event loop while parsing a large document, and stops once the signal aborts', async () => {
    const text = JSON.stringify(Array.from({ length: 8 }, () => JSON.parse(largeDocument()) as unknown));
    let paces = 0;
    await parseJsonPaced(text, () => {
      paces++;
      return Promise.resolve();
    });
    assert.ok(paces > 100, `paced ${paces} times`);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(parseJsonPaced(text, pacer(controller.signal)), InterruptedError);
  });
});
