/** name → version of what dpkg has installed, per image of a run. */
export type PackageSets = Record<string, ReadonlyMap<string, string>>;

export interface PackageDifference {
  image: string;
  name: string;
  /** Absent: the package is not installed on that side. */
  left?: string;
  right?: string;
}

export interface Comparison {
  /** Images both runs made, compared package by package. */
  compared: string[];
  /** Images only one run made (the other failed it): not compared. */
  unpaired: string[];
  differences: PackageDifference[];
}

/** Every package whose version differs between the images of the same name two runs made. */
export function compareRuns(left: PackageSets, right: PackageSets): Comparison {
  const images = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  const compared = images.filter((image) => image in left && image in right);
  const differences = compared.flatMap((image) => {
    const [l, r] = [left[image] ?? new Map<string, string>(), right[image] ?? new Map<string, string>()];
    const names = [...new Set([...l.keys(), ...r.keys()])].sort();
    return names.flatMap((name) => {
      const [lv, rv] = [l.get(name), r.get(name)];
      if (lv === rv) return [];
      return [{ image, name, ...(lv !== undefined ? { left: lv } : {}), ...(rv !== undefined ? { right: rv } : {}) }];
    });
  });
  return { compared, unpaired: images.filter((image) => !compared.includes(image)), differences };
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
