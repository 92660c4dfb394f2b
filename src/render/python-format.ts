import { pythonStr } from './python-values.js';

/**
 * Python's `format % args` for the conversions templates use (Jinja2's `format` filter):
 * %s, %r, %d, %i, %f (with width/precision) and %%. A count mismatch is an error, as in Python.
 */
export function pythonPercentFormat(format: string, args: readonly unknown[]): string {
  let next = 0;
  const result = format.replace(
    /%(-?\d*)(?:\.(\d+))?([sdifr%])/g,
    (_match, width: string, precision: string | undefined, conversion: string) => {
      if (conversion === '%') return '%';
      if (next >= args.length) throw new Error('not enough arguments for format string');
      const value = args[next++];
      let text: string;
      if (conversion === 's') text = pythonStr(value);
      else if (conversion === 'r') text = typeof value === 'string' ? `'${value}'` : pythonStr(value);
      else if (conversion === 'f') text = Number(value).toFixed(precision === undefined ? 6 : Number(precision));
      else text = String(Math.trunc(Number(value)));
      const size = Math.abs(Number(width || 0));
      return width.startsWith('-') ? text.padEnd(size) : text.padStart(size);
    },
  );
  if (next < args.length) throw new Error('not all arguments converted during string formatting');
  return result;
}
