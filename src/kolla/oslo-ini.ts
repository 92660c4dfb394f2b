import { ConfigError } from '../util/errors.js';

/** One `key = value` of an oslo.config file; a value continued on indented lines is joined with newlines. */
export interface IniAssignment {
  key: string;
  value: string;
  line: number;
}

/** A parsed oslo.config file: sections in file order, each with its assignments in file order. */
export interface IniFile {
  file: string;
  /** Keyed by the normalised section name: `DEFAULT` as written, every other name lower-cased. */
  sections: Map<string, IniAssignment[]>;
}

/** oslo.config matches section names case-insensitively, except that only `DEFAULT` itself is the default section. */
export const normaliseSection = (name: string): string => (name === 'DEFAULT' ? name : name.toLowerCase());

function splitAssignment(text: string, file: string, line: number): { key: string; value: string } {
  const colon = text.indexOf(':');
  const equal = text.indexOf('=');
  if (colon < 0 && equal < 0) {
    throw new ConfigError(file, `line ${line}`, `"key = value" expected, found ${JSON.stringify(text)}`);
  }
  // The first of '=' and ':' separates key from value, so `location = http://...` keeps its colon.
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  const key = text.slice(0, at).trim();
  let value = text.slice(at + 1).trim();
  if (value.length >= 2 && (value.startsWith('"') || value.startsWith("'")) && value.endsWith(value[0] ?? '')) {
    value = value.slice(1, -1);
  }
  if (key === '') {
    throw new ConfigError(file, `line ${line}`, `a key is needed before the separator in ${JSON.stringify(text)}`);
  }
  return { key, value };
}

/**
 * Parses a file the way oslo.config's ini parser does: `[section]`, `key = value` or `key: value`, comments
 * only as whole lines starting `#` or `;` (a `#` later on a line is part of the value), indented lines
 * continuing the previous value, a blank line ending it, an assignment before any section an error.
 */
export function parseOsloIni(text: string, file: string): IniFile {
  const sections = new Map<string, IniAssignment[]>();
  let section: IniAssignment[] | null = null;
  let pending: { key: string; lines: string[]; line: number } | null = null;
  const flush = (): void => {
    if (pending === null) return;
    if (section === null) {
      throw new ConfigError(file, `line ${pending.line}`, `"${pending.key}" is outside any [section]`);
    }
    section.push({ key: pending.key, value: pending.lines.join('\n'), line: pending.line });
    pending = null;
  };
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const number = index + 1;
    const line = raw.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (pending === null) throw new ConfigError(file, `line ${number}`, 'an indented line continues no value');
      pending.lines.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new ConfigError(file, `line ${number}`, `a section header ends with "]": ${line}`);
      if (line.length <= 2) throw new ConfigError(file, `line ${number}`, 'a section needs a name');
      const name = normaliseSection(line.slice(1, -1));
      section = sections.get(name) ?? [];
      sections.set(name, section);
    } else if (line.startsWith('#') || line.startsWith(';')) {
      continue;
    } else {
      const { key, value } = splitAssignment(line, file, number);
      pending = { key, lines: [value], line: number };
    }
  }
  flush();
  return { file, sections };
}
