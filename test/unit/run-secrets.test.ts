import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { loadSecrets } from '../../src/config/secrets.js';
import { runProcess } from '../../src/util/process.js';
import { EventBus } from '../../src/report/events.js';
import { HtmlReportReporter } from '../../src/report/html-report.js';
import { LogFilesReporter } from '../../src/report/log-files.js';
import { SummaryCollector } from '../../src/report/summary.js';
import { runSecretForms, secretScrubber } from '../../src/run/registry-auth.js';
import { temporaryDir, writeTree } from '../helpers/files.js';

const vaultPassword = 'vault-pw-never-printed';
const base64 = (text: string) => Buffer.from(text).toString('base64').replace(/=+$/, '');

describe("child processes never get ci-builder's own variables", () => {
  const secretVariables = {
    CI_BUILDER_VAULT_PASSWORD: vaultPassword,
    CI_BUILDER_NEW_VAULT_PASSWORD: 'new-vault-pw',
    CI_BUILDER_REGISTRY: '127.0.0.1:5000',
  };

  it("from this process's environment", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, secretVariables, { ORDINARY_VARIABLE: 'kept' });
    try {
      const result = await runProcess('env', [], { captureStdout: true });
      assert.equal(result.exitCode, 0);
      assert.doesNotMatch(result.stdout, /CI_BUILDER_/);
      assert.ok(!result.stdout.includes(vaultPassword) && !result.stdout.includes('new-vault-pw'));
      assert.match(result.stdout, /^ORDINARY_VARIABLE=kept$/m, 'the rest of the environment is passed on');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    }
  });

  it('from an environment a caller built from it (an engine adding its own variables)', async () => {
    const env = { ...process.env, ...secretVariables, DOCKER_BUILDKIT: '1' };
    const result = await runProcess('env', [], { captureStdout: true, env });
    assert.doesNotMatch(result.stdout, /CI_BUILDER_/);
    assert.match(result.stdout, /^DOCKER_BUILDKIT=1$/m);
  });
});

describe('a run masks every secret it knows in what it prints and stores', () => {
  it('the vault password and the credentials, plain and base64, in logs, summary and report', async () => {
    const configDir = writeTree(temporaryDir(), {
      'config.yml': [
        'release: zed',
        'namespace: ns',
        'images_dirs: [.]',
        'distros:',
        '  debian: { version: bookworm, package_type: deb, base_image: { image: debian, tag: bookworm } }',
        'secrets: secrets.yml',
        '',
      ].join('\n'),
      'secrets.yml': 'registry_username: builder\nregistry_password: registry-pw-secret\n',
    });
    const loaded = loadConfig({ configDir, env: { CI_BUILDER_VAULT_PASSWORD: vaultPassword } });
    const secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
    // As build-runs builds it: the secrets file's credentials and the vault password.
    const events = new EventBus(secretScrubber(runSecretForms(secrets, loaded.vaultPassword())));
    const runDir = temporaryDir();
    const summary = new SummaryCollector();
    for (const reporter of [summary, new LogFilesReporter(runDir), new HtmlReportReporter(runDir, summary)]) {
      events.attach(reporter);
    }

    const name = 'leaky';
    events.emit({ type: 'run', reason: 'started', tag: 't', distro: 'debian', engine: 'buildah', runDir, images: [] });
    events.emit({ type: 'image', reason: 'queued', name, reference: 'ns/leaky:t', inputDigest: '', parent: null });
    events.emit({ type: 'image', reason: 'started', name, attempt: 1 });
    const leakyStep = `STEP 2/3: RUN echo ${vaultPassword} ${base64(vaultPassword)}`;
    events.emit({ type: 'image', reason: 'log', name, line: leakyStep });
    events.emit({ type: 'image', reason: 'log', name, line: 'Authorization: registry-pw-secret' });
    events.emit({
      type: 'image',
      reason: 'failed',
      name,
      status: 'error',
      message: `exited with 1: ${vaultPassword}`,
      attempts: 1,
    });
    events.emit({ type: 'run', reason: 'finished', interrupted: false });
    await events.close();

    const stored = [
      ...readdirSync(runDir)
        .filter((name) => name !== 'logs')
        .map((name) => join(runDir, name)),
      ...readdirSync(join(runDir, 'logs')).map((name) => join(runDir, 'logs', name)),
    ].map((file) => readFileSync(file, 'utf8'));
    stored.push(JSON.stringify(summary.summary));
    assert.equal(stored.length, 4, 'build.log, report.html, logs/leaky.log and the summary');
    for (const text of stored) {
      for (const secret of [vaultPassword, base64(vaultPassword), 'registry-pw-secret']) {
        assert.ok(!text.includes(secret), `${secret} leaked into ${text.slice(0, 80)}`);
      }
    }
    assert.match(readFileSync(join(runDir, 'logs/leaky.log'), 'utf8'), /RUN echo \*\*\* \*\*\*/);
  });
});
