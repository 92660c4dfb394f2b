import { join } from 'node:path';
import type { Engine } from '../engine/types.js';
import type { PlannedImage } from '../plan/plan.js';
import type { EventBus, ScanCounts } from '../report/events.js';
import type { ComposedImage, GateDecision, ImageGate } from '../run/gate-port.js';
import { scanImage, type ImageScan, type ScanSettings } from '../scan/scan-image.js';
import { writeImageScan } from '../scan/scan-outputs.js';
import { SEVERITIES, type Verdict } from '../scan/types.js';
import type { Limiter } from '../util/limiter.js';

/** What the gate learnt of an image: its verdict, or that it could not be scanned. */
export type ScanResult = { kind: 'scanned'; verdict: Verdict } | { kind: 'failed' };

/**
 * As the operators' workflow: clean and dirty images are pushed; a critical one only with
 * --push-dirty; an image that could not be scanned never (nothing vouches for it).
 */
export function gateDecision(result: ScanResult, pushDirty: boolean): GateDecision {
  switch (result.kind) {
    case 'failed':
      return { push: false };
    case 'scanned':
      switch (result.verdict) {
        case 'clean':
        case 'dirty':
          return { push: true };
        case 'critical':
          return { push: pushDirty };
        default: {
          const never: never = result.verdict;
          return never;
        }
      }
    default: {
      const never: never = result;
      return never;
    }
  }
}

/** The counting findings (not allowed, not unfixed when ignored, HIGH and up) per severity. */
export function countsBySeverity(scan: ImageScan): ScanCounts {
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as ScanCounts;
  for (const finding of scan.findings)
    if (finding.status === 'counted' || finding.status === 'kernel') counts[finding.severity]++;
  return counts;
}

/** What one pipeline's gates share: the scan settings, a limit on scans at once, and what was found. */
export interface GateContext {
  settings: Omit<ScanSettings, 'signal'>;
  scans: Limiter;
  pushDirty: boolean;
  toolVersion: string;
  /** Every image scanned, for the CSV over all of them (findings only: inventories are large). */
  found: Array<Pick<ImageScan, 'reference' | 'findings'> & { verdict: Verdict }>;
  /** The references whose gate let them through to the push queue. */
  admitted: string[];
}

/**
 * The gate of one run: scans each image as it comes (writing `<runDir>/scan/<image>.json` and
 * `.cdx.json`), reports it as events, and decides its push.
 */
export function scanGate(context: GateContext, run: { runDir: string; events: EventBus }): ImageGate {
  // The image is scanned where it was built: on a spread run, that builder's engine; composed, its mounted root.
  const gate = (image: PlannedImage, signal: AbortSignal, engine: Engine, composed?: ComposedImage) =>
    context.scans.add(async (): Promise<GateDecision> => {
      const { events } = run;
      const { name, reference } = image;
      if (signal.aborted) return { push: false };
      const started = performance.now();
      events.emit({ type: 'scan', reason: 'started', name, reference });
      let result: ScanResult;
      try {
        const scanned = await scanImage(reference, {
          ...context.settings,
          engine,
          signal,
          ...(composed && { composed }),
        });
        if (scanned.ok) {
          const scan = scanned.value;
          await writeImageScan(join(run.runDir, 'scan'), scan, context.toolVersion);
          context.found.push({ reference, findings: scan.findings, verdict: scan.verdict });
          const counts = countsBySeverity(scan);
          const allowed = scan.findings.filter((finding) => finding.status === 'allowed').length;
          const seconds = (performance.now() - started) / 1000;
          events.emit({
            type: 'scan',
            reason: 'scanned',
            name,
            reference,
            verdict: scan.verdict,
            counts,
            allowed,
            seconds,
          });
          result = { kind: 'scanned', verdict: scan.verdict };
        } else {
          events.emit({ type: 'scan', reason: 'failed', name, reference, message: scanned.failure });
          result = { kind: 'failed' };
        }
      } catch (error) {
        // A scanner that breaks (trivy missing mid-run, a disk full) fails this image's scan, not the run.
        const message = error instanceof Error ? error.message : String(error);
        events.emit({ type: 'scan', reason: 'failed', name, reference, message });
        result = { kind: 'failed' };
      }
      const decision = gateDecision(result, context.pushDirty);
      if (!decision.push && result.kind === 'scanned')
        events.emit({ type: 'push', reason: 'held', name, reference, verdict: result.verdict });
      if (decision.push) context.admitted.push(reference);
      return decision;
    });
  // The built-in scanner reads a root; trivy reads an exported image, which one composed at the registry is not.
  return Object.assign(gate, { readsComposedRoots: context.settings.scanner.kind === 'osv' });
}
