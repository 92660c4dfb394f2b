const MiB = 1024 * 1024;

/** A size as limits and refusals state it: MiB from one MiB up, bytes below. */
export function sizeText(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}
