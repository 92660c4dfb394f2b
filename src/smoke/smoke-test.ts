import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/types.js';

export const SMOKE_TEST_LABEL = 'ci-builder.smoke-test';

export interface SmokeCheck {
  check: 'service' | 'kolla_start';
  status: 'ok' | 'fail' | 'skipped';
  detail: string;
}

export interface SmokeResult {
  image: string;
  reference: string;
  checks: SmokeCheck[];
}

const lastLines = (text: string, count = 3) => text.trim().split('\n').slice(-count).join(' | ');

/**
 * Runs inside a built image: its service check (the command in its ci-builder.smoke-test
 * label, as the image's user) and the Kolla start contract: kolla_start, as that user,
 * applies a sample config.json through sudo and kolla_set_configs, then runs its command.
 */
export async function smokeTestImage(engine: Engine, image: string, reference: string): Promise<SmokeResult> {
  const inspected = await engine.inspect(reference);
  if (!inspected.ok) {
    const { kind, message } = inspected.failure;
    const detail = kind === 'not-found' ? 'the image is not in the engine' : message;
    return { image, reference, checks: [{ check: 'service', status: 'fail', detail }] };
  }
  const info = inspected.value;
  const user = info.user === '' ? undefined : info.user;
  const checks: SmokeCheck[] = [];

  const command = info.labels[SMOKE_TEST_LABEL];
  if (command === undefined) {
    checks.push({ check: 'service', status: 'skipped', detail: `no ${SMOKE_TEST_LABEL} label` });
  } else {
    const ran = await engine.run({ reference, command: ['sh', '-c', command], ...(user ? { user } : {}) });
    if (!ran.ok) {
      checks.push({ check: 'service', status: 'fail', detail: `${command}: ${ran.failure.message}` });
    } else if (ran.value.exitCode === 0) {
      checks.push({ check: 'service', status: 'ok', detail: `${command}: ${lastLines(ran.value.output, 1)}` });
    } else {
      checks.push({
        check: 'service',
        status: 'fail',
        detail: `${command} exited ${ran.value.exitCode}: ${lastLines(ran.value.output)}`,
      });
    }
  }

  const probe = await engine.run({ reference, command: ['test', '-x', '/usr/local/bin/kolla_start'], user: 'root' });
  if (!probe.ok) checks.push({ check: 'kolla_start', status: 'fail', detail: probe.failure.message });
  else if (probe.value.exitCode === 0) checks.push(await checkKollaStart(engine, reference, user));
  else checks.push({ check: 'kolla_start', status: 'skipped', detail: 'the image has no /usr/local/bin/kolla_start' });
  return { image, reference, checks };
}

async function checkKollaStart(engine: Engine, reference: string, user: string | undefined): Promise<SmokeCheck> {
  const owner = user === undefined || user === 'root' || user === '0' ? 'kolla' : (user.split(':')[0] ?? 'kolla');
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-smoke-'));
  try {
    await writeFile(join(dir, 'sample.conf'), '[DEFAULT]\ndebug = true\n');
    const config = {
      command: 'stat -c ci-builder-smoke:%U:%G:%a /etc/ci-builder-smoke/sample.conf',
      config_files: [
        {
          source: '/var/lib/kolla/config_files/sample.conf',
          dest: '/etc/ci-builder-smoke/sample.conf',
          owner,
          perm: '0640',
        },
      ],
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    const ran = await engine.run({
      reference,
      command: ['kolla_start'],
      ...(user ? { user } : {}),
      mount: { hostDir: dir, containerDir: '/var/lib/kolla/config_files' },
      env: { KOLLA_CONFIG_STRATEGY: 'COPY_ALWAYS' },
    });
    if (!ran.ok) return { check: 'kolla_start', status: 'fail', detail: ran.failure.message };
    const result = ran.value;
    const expected = `ci-builder-smoke:${owner}:${owner}:640`;
    if (result.exitCode === 0 && result.output.includes(expected))
      return {
        check: 'kolla_start',
        status: 'ok',
        detail: `config copied as ${owner}:${owner} 0640 and the command ran`,
      };
    return {
      check: 'kolla_start',
      status: 'fail',
      detail: `expected "${expected}", got exit ${result.exitCode}: ${lastLines(result.output)}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
