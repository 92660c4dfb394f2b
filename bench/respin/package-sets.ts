/** name → version of what dpkg has installed, per image of a run. */
export type PackageSets = Record<string, ReadonlyMap<string, string>>;

export interface PackageDifference {
  image: string;
  name: string;
  /** Absent: the package is not installed on that side. */
  left?: string;
  right?: string;
}

/** Every package whose version differs between two runs' images of the same name (an image only one side has counts whole). */
export function differences(left: PackageSets, right: PackageSets): PackageDifference[] {
  const images = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return images.flatMap((image) => {
    const [l, r] = [left[image] ?? new Map<string, string>(), right[image] ?? new Map<string, string>()];
    const names = [...new Set([...l.keys(), ...r.keys()])].sort();
    return names.flatMap((name) => {
      const [lv, rv] = [l.get(name), r.get(name)];
      if (lv === rv) return [];
      return [{ image, name, ...(lv !== undefined ? { left: lv } : {}), ...(rv !== undefined ? { right: rv } : {}) }];
    });
  });
}

/** Installed packages whose version is not the one the snapshot holds: what a build at that snapshot cannot have. */
export function notFromSnapshot(sets: PackageSets, snapshot: ReadonlyMap<string, string>): PackageDifference[] {
  return Object.entries(sets).flatMap(([image, installed]) =>
    [...installed]
      .filter(([name, version]) => snapshot.get(name) !== version)
      .map(([name, version]) => {
        const held = snapshot.get(name);
        return { image, name, left: version, ...(held !== undefined ? { right: held } : {}) };
      }),
  );
}

export function describeDifferences(found: readonly PackageDifference[], limit = 4): string {
  const shown = found
    .slice(0, limit)
    .map((entry) => `${entry.image}: ${entry.name} ${entry.left ?? '(none)'} ≠ ${entry.right ?? '(none)'}`);
  return [...shown, ...(found.length > limit ? [`and ${found.length - limit} more`] : [])].join('; ');
}
