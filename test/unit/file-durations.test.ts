import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestEvent } from 'node:test/reporters';
import { fileTimeOf, formatDurations } from '../reporters/file-durations.js';

const completed = (name: string, nesting: number, ms: number, passed = true) =>
  ({
    type: 'test:complete',
    data: { name, nesting, file: '/p/test/unit/a.test.ts', details: { duration_ms: ms, passed }, line: 1, column: 1 },
  }) as unknown as TestEvent;

describe("the suite's per-file durations", () => {
  it("keeps a file's own end (nesting 0, named by its path), not its tests'", () => {
    assert.deepEqual(fileTimeOf(completed('test/unit/a.test.ts', 0, 2500), '/p'), {
      file: '/p/test/unit/a.test.ts',
      seconds: 2.5,
      passed: true,
    });
    assert.equal(fileTimeOf(completed('a describe block', 0, 2000), '/p'), undefined);
    assert.equal(fileTimeOf(completed('test/unit/a.test.ts', 1, 2000), '/p'), undefined);
  });

  it('prints them slowest first with the sum, a failed file marked', () => {
    const table = formatDurations(
      [
        { file: '/p/test/unit/fast.test.ts', seconds: 1.25, passed: true },
        { file: '/p/test/integration/slow.test.ts', seconds: 301, passed: false },
      ],
      '/p',
    );
    assert.equal(
      table,
      'per-file durations, slowest first (2 files, 302.3 s in all):\n' +
        '   301.0 s ✖ test/integration/slow.test.ts\n' +
        '     1.3 s   test/unit/fast.test.ts\n',
    );
  });
});
