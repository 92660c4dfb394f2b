/**
 * The "billion laughs" as YAML: nine levels of nine aliases, a few hundred bytes that expand
 * to 9^9 strings. `indent` nests it under a key.
 */
export function aliasBomb(indent = ''): string {
  const levels = 'abcdefghi'.split('');
  const lines = levels.map((name, index) => {
    const items = index === 0 ? Array(9).fill('lol') : Array(9).fill(`*${levels[index - 1] ?? ''}`);
    return `${indent}${name}: &${name} [${items.join(', ')}]`;
  });
  return `${lines.join('\n')}\n`;
}
