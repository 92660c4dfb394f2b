import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineResult, RunResult } from '../../src/engine/types.js';
import { addVersionLabel, VERSION_PACKAGE_LABEL } from '../../src/run/version-label.js';
import { ok } from '../../src/util/result.js';
import { FakeEngine } from '../helpers/fake-engine.js';

/** An engine whose runs answer from a script, in turn. */
class ScriptedRuns extends FakeEngine {
  constructor(private readonly answers: RunResult[]) {
    super();
  }

  override run(): EngineResult<RunResult> {
    const answer = this.answers.shift() ?? { exitCode: 1, output: 'no more answers' };
    return Promise.resolve(ok(answer));
  }
}

const reference = 'registry.test/ns/keystone:t1';
const labels = { [VERSION_PACKAGE_LABEL]: 'keystone' };

async function label(engine: FakeEngine) {
  const built = await engine.build({
    contextDir: '/nowhere',
    reference,
    labels,
    onLine: () => undefined,
    signal: new AbortController().signal,
  });
  assert.ok(built.ok);
  const lines: string[] = [];
  const result = await addVersionLabel(engine, reference, built.value, new AbortController().signal, (line) =>
    lines.push(line),
  );
  return { result, lines };
}

describe('the version label', () => {
  it('asks once more when the first query fails, and says what it answered', async () => {
    const failed = { exitCode: 1, output: 'dpkg-query: error: something odd\nError: exit status 1' };
    const engine = new ScriptedRuns([failed, { exitCode: 0, output: '2:22.0.0-1' }]);
    const { result, lines } = await label(engine);
    assert.ok(result.ok, result.ok ? '' : result.failure.message);
    assert.equal(engine.built.length, 2, 'the image, then its metadata-only build with the label');
    assert.match(
      lines.join('\n'),
      /reading the version of keystone failed \(exit 1\): dpkg-query: error: something odd/,
    );
  });

  it("fails with the command's own words, not the engine's last line, when both queries fail", async () => {
    const failed = { exitCode: 1, output: 'dpkg-query: no packages found matching keystone\nError: exit status 1' };
    const { result } = await label(new ScriptedRuns([failed, failed]));
    if (result.ok) assert.fail('a version that cannot be read is a failure');
    assert.equal(result.failure.kind, 'build');
    assert.equal(
      result.failure.message,
      'cannot read the version of keystone in the image: dpkg-query: no packages found matching keystone',
    );
  });
});
