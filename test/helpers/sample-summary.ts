import { SummaryCollector, type RunSummary } from '../../src/report/summary.js';

/** A run as the events of a real one would leave it: base → openstack-base → leaf, plus a failed sibling. */
export function sampleSummary(): RunSummary {
  const collector = new SummaryCollector();
  const at = (second: number) => new Date(Date.UTC(2026, 10, 25, 10, 0, second)).toISOString();
  const emit = (second: number, event: Record<string, unknown>) =>
    collector.handle({ at: at(second), ...event } as never);
  emit(0, {
    type: 'run',
    reason: 'started',
    tag: 'zed-debian-bookworm-20261125T100000',
    distro: 'debian',
    engine: 'buildah',
    runDir: '/r',
    images: ['base', 'openstack-base', 'leaf', 'broken<script>'],
  });
  for (const [name, parent] of [
    ['base', null],
    ['openstack-base', 'base'],
    ['leaf', 'openstack-base'],
    ['broken<script>', 'base'],
  ] as const) {
    emit(0, {
      type: 'image',
      reason: 'queued',
      name,
      reference: `127.0.0.1:5000/ns/${name}:t`,
      inputDigest: `sha256:${'ab'.repeat(32)}`,
      parent,
    });
  }
  emit(1, { type: 'image', reason: 'started', name: 'base', attempt: 1 });
  emit(6, { type: 'image', reason: 'built', name: 'base', imageId: 'i1', seconds: 5 });
  emit(6, { type: 'push', reason: 'started', name: 'base', reference: 'r', attempt: 1 });
  emit(6, { type: 'image', reason: 'started', name: 'openstack-base', attempt: 1 });
  emit(6, { type: 'image', reason: 'started', name: 'broken<script>', attempt: 1 });
  emit(8, { type: 'push', reason: 'pushed', name: 'base', reference: 'r', seconds: 2, attempts: 1 });
  emit(9, {
    type: 'image',
    reason: 'failed',
    name: 'broken<script>',
    status: 'error',
    message: 'RUN false: exit 1',
    attempts: 1,
  });
  emit(20, { type: 'image', reason: 'built', name: 'openstack-base', imageId: 'i2', seconds: 14 });
  emit(20, { type: 'image', reason: 'started', name: 'leaf', attempt: 1 });
  emit(31, { type: 'image', reason: 'built', name: 'leaf', imageId: 'i3', seconds: 11 });
  emit(32, { type: 'run', reason: 'finished', interrupted: false });
  return collector.summary;
}
