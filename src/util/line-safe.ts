/**
 * A name from someone else's data (a zip member, a JSON key, a tar path) as a one-line error shows
 * it: cut to `max` characters, and quoted with escapes when it holds anything but plain name characters.
 */
export function lineSafe(name: string, max = 120): string {
  const shown = JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
  return /^"[\w./:+~@-]+"$/.test(shown) ? shown.slice(1, -1) : shown;
}
