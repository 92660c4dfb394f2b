/**
 * How Jinja2 reads the literals inside tags, where nunjucks reads them otherwise.
 *
 * Jinja2 reads a string literal's backslash escapes as Python does (`unicode-escape`): `\u00e9`,
 * `\x41`, octal, `\a`... and keeps the backslash of an escape Python does not know (`'\d'`).
 * nunjucks knows only `\n`, `\t` and `\r` and drops every other backslash. Kayobe writes its
 * customizations with Ansible's `to_json`, which escapes every non-ASCII character as `\uXXXX`.
 * So inside tags each literal with a backslash is rewritten to the value Jinja2 reads, in the
 * few escapes nunjucks reads back unchanged.
 */
const tagPattern = /\{[%{][\s\S]*?[%}]\}/g;
const stringPattern = /'([^'\\]*(?:\\[\s\S][^'\\]*)*)'|"([^"\\]*(?:\\[\s\S][^"\\]*)*)"/g;
/** The same literals, whole, as the one group a split keeps. */
const stringSplit = /('(?:[^'\\]*(?:\\[\s\S][^'\\]*)*)'|"(?:[^"\\]*(?:\\[\s\S][^"\\]*)*)")/;
const pythonEscape = /\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(\n)|([\s\S]))/g;
const simpleEscapes: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** A literal's body as Python's unicode-escape codec decodes it. */
export function decodePythonEscapes(body: string): string {
  return body.replace(
    pythonEscape,
    (escape, octal?: string, hex2?: string, hex4?: string, hex8?: string, newline?: string, other?: string) => {
      const code = octal ?? hex2 ?? hex4 ?? hex8;
      if (code !== undefined) return String.fromCodePoint(parseInt(code, octal === undefined ? 16 : 8));
      if (newline !== undefined) return '';
      return (other !== undefined ? simpleEscapes[other] : undefined) ?? escape;
    },
  );
}

/** A value as a nunjucks string literal. */
function nunjucksLiteral(value: string, quote: string): string {
  const escaped = value.replace(/[\\\n\r\t'"]/g, (char) => {
    switch (char) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return char === '\\' || char === quote ? `\\${char}` : char;
    }
  });
  return `${quote}${escaped}${quote}`;
}

/**
 * `null` is no literal in Jinja2 but a name, undefined unless a variable has it (`{% set x = null %}`,
 * as `to_json` writes a None, leaves `x` undefined); nunjucks reads it as none. Outside string
 * literals in tags it becomes a name no template defines.
 */
export const JINJA_NULL_NAME = '__jinja_null';

export function withNullAsName(source: string): string {
  return source.replace(tagPattern, (tag) =>
    tag
      .split(stringSplit)
      .map((part, index) => (index % 2 === 0 ? part.replace(/(?<![.\w])null(?!\w)/g, JINJA_NULL_NAME) : part))
      .join(''),
  );
}

export function withPythonStringEscapes(source: string): string {
  return source.replace(tagPattern, (tag) =>
    tag.replace(stringPattern, (literal, single?: string, double?: string) => {
      const body = single ?? double ?? '';
      if (!body.includes('\\')) return literal;
      return nunjucksLiteral(decodePythonEscapes(body), single === undefined ? '"' : "'");
    }),
  );
}
