import type { z } from 'zod';

/** Longest key shown whole in an error line: a key is named, not copied out of a file. */
const SHOWN_KEY_LENGTH = 64;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * A key path for an error line, as schema issues give it: `images.keystone.push.status`; a key that
 * is not a plain word is quoted (`images["../../x"]`), so what a file put in it reads as data.
 */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number' || (typeof segment === 'string' && PLAIN_KEY.test(segment))) {
        return `${index === 0 ? '' : '.'}${String(segment)}`;
      }
      const text = String(segment);
      const shown = text.length > SHOWN_KEY_LENGTH ? `${text.slice(0, SHOWN_KEY_LENGTH)}…` : text;
      return `[${JSON.stringify(shown)}]`;
    })
    .join('');
}

/** The first problem a schema found, as the key path and the text of an error line. */
export function firstIssue(error: z.ZodError): { where: string; problem: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { where: '', problem: 'unexpected shape' };
  // A bad record key: zod's own words are "Invalid key in record", the key's schema says why.
  const problem = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  return { where: formatKeyPath(issue.path), problem };
}
