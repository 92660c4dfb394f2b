/** Single-quotes a value for sh, so repository lines reach the file exactly as rendered. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
