import { join } from 'node:path';
import { z } from 'zod';
import { isImageName } from '../catalog/image-name.js';
import { isValidTag } from '../plan/naming.js';
import { SUMMARY_LIMITS, type RunSummary } from '../report/summary.js';
import { UsageError } from '../util/errors.js';
import { parseJsonInputPaced } from '../util/json-input.js';
import { firstIssue } from '../util/key-path.js';
import { InputRefusedError, readInputText } from '../util/read-input.js';
import type { ShardSummary } from './merge-summaries.js';

/** A name read back from a summary becomes a file name in the merged folder: only what the catalog names. */
const imageName = z.string().refine(isImageName, 'not an image name (one folder name, not starting with ".")');
const named = z.array(z.looseObject({ name: imageName }));
const verdict = z.enum(['clean', 'dirty', 'critical']);
const pushedList = z.array(
  z.looseObject({ name: imageName, reference: z.string(), already: z.literal(true).optional() }),
);
const timestamp = z.string().optional();

/** What the merge and the report read of a summary, each with its type; the rest is carried as it is. */
const summarySchema = z.looseObject({
  built: named,
  // The base image, when it could not be made, is failed under its reference: not an image name.
  failed: z.array(z.looseObject({ name: z.string(), status: z.string(), reason: z.string() })),
  not_matched: named,
  skipped: z.array(z.looseObject({ name: imageName, reason: z.string() })),
  unbuildable: named,
  reused: named,
  pushed: pushedList,
  push_failed: z.array(z.looseObject({ name: imageName, reference: z.string(), reason: z.string() })),
  scanned: z
    .array(
      z.looseObject({
        name: imageName,
        reference: z.string(),
        verdict,
        counts: z.looseObject({
          CRITICAL: z.number(),
          HIGH: z.number(),
          MEDIUM: z.number(),
          LOW: z.number(),
          UNKNOWN: z.number(),
        }),
        allowed: z.number(),
        seconds: z.number(),
      }),
    )
    .default([]),
  patched: z.array(z.looseObject({ name: imageName, packages: z.number() })).default([]),
  scan_failed: z.array(z.looseObject({ name: imageName, reference: z.string(), reason: z.string() })).default([]),
  held: z.array(z.looseObject({ name: imageName, reference: z.string(), verdict })).default([]),
  flaky: z.array(z.looseObject({ name: imageName, attempts: z.number() })).default([]),
  unmatched_regexes: z.array(z.string()).default([]),
  // The default merged folder is named after the tag: a tag with a "/" would put it anywhere.
  tag: z.string().refine(isValidTag, 'not an image tag (letters, digits, "_", "." and "-", at most 128)'),
  distro: z.string().min(1),
  engine: z.string(),
  base_image: z.looseObject({ reference: z.string(), outcome: z.string() }).nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  interrupted: z.boolean(),
  images: z.record(
    imageName,
    z.looseObject({
      reference: z.string(),
      parent: z.string().nullable(),
      input_digest: z.string(),
      image_id: z.string().optional(),
      status: z.enum(['queued', 'building', 'built', 'reused', 'patched', 'failed', 'skipped']),
      started_at: timestamp,
      finished_at: timestamp,
      build_seconds: z.number().optional(),
      attempts: z.number().optional(),
      builder: z.string().optional(),
      push: z
        .looseObject({
          status: z.enum(['pushed', 'failed']),
          seconds: z.number().optional(),
          attempts: z.number(),
          started_at: timestamp,
          finished_at: timestamp,
          already: z.literal(true).optional(),
        })
        .optional(),
    }),
  ),
  shard: z.string().optional(),
  builders: z.array(z.string()).optional(),
  lost_builders: z.array(z.string()).optional(),
});

/**
 * A shard's summary.json, a regular file in its folder; a folder without one, or with a damaged one,
 * is named in one line with the key at fault. Parsed a piece at a time (a summary may be large) with its
 * nesting capped; `pace` throws once interrupted.
 */
export async function readShardSummary(
  runDir: string,
  pace: () => Promise<void> = () => Promise.resolve(),
): Promise<ShardSummary> {
  const file = join(runDir, 'summary.json');
  let text: string;
  try {
    text = await readInputText(file, { ...SUMMARY_LIMITS, within: runDir });
  } catch (error) {
    if (error instanceof InputRefusedError && error.refusal === 'missing') {
      throw new UsageError(`summary merge: ${runDir} has no summary.json`);
    }
    throw error instanceof UsageError ? new UsageError(`summary merge: ${error.message}`) : error;
  }
  let raw: unknown;
  try {
    raw = await parseJsonInputPaced(text, file, 'run summary', pace);
  } catch (error) {
    throw error instanceof UsageError ? new UsageError(`summary merge: ${error.message}`) : error;
  }
  const parsed = summarySchema.safeParse(raw);
  if (!parsed.success) {
    const { where, problem } = firstIssue(parsed.error);
    throw new UsageError(`summary merge: ${file} is damaged: ${where || '(top level)'}: ${problem}`);
  }
  // The schema checked every key the merge and the report read; statuses are carried as the run wrote them.
  return { runDir, summary: parsed.data as RunSummary };
}
