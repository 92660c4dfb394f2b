/**
 * GitHub Actions workflow commands (`::name key=value::message`), written to the job log.
 * The runner reads `%`, CR and LF encoded in a message, and also `:` and `,` in a property,
 * so a value can never end its command early or start a new one.
 */
export function escapeCommandData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

export function escapeCommandProperty(text: string): string {
  return escapeCommandData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export function annotation(level: AnnotationLevel, title: string, message: string): string {
  return `::${level} title=${escapeCommandProperty(title)}::${escapeCommandData(message)}`;
}
