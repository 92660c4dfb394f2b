import type { YAMLError } from 'yaml';

/**
 * A YAML syntax error as the key path and text of a ConfigError: where it is and what kind it is.
 * yaml's own message quotes the offending source, and the file may hold anything (a secret).
 */
export function yamlErrorParts(error: YAMLError): { where: string; what: string } {
  const position = error.linePos?.[0];
  const where = position === undefined ? '' : `line ${position.line}, column ${position.col}`;
  return { where, what: `not valid YAML (${error.code.toLowerCase().replaceAll('_', ' ')})` };
}
