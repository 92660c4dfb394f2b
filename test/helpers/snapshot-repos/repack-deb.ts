import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The same package under another version: the .deb unpacked with its control files, its Version
 * field changed, packed again. Its files (and their md5sums) are those of the original.
 */
export function repackDeb(deb: string, version: string, outDir: string): string {
  const scratch = mkdtempSync(join(outDir, 'repack-'));
  try {
    const tree = join(scratch, 'tree');
    execFileSync('dpkg-deb', ['--raw-extract', deb, tree]);
    const control = join(tree, 'DEBIAN/control');
    const text = readFileSync(control, 'utf8');
    if (!/^Version: /m.test(text)) throw new Error(`${deb}: its control file has no Version field`);
    writeFileSync(control, text.replace(/^Version: .*$/m, `Version: ${version}`));
    const name = execFileSync('dpkg-deb', ['--field', deb, 'Package'], { encoding: 'utf8' }).trim();
    const architecture = execFileSync('dpkg-deb', ['--field', deb, 'Architecture'], { encoding: 'utf8' }).trim();
    const repacked = join(outDir, `${name}_${version.replace(/^\d+:/, '')}_${architecture}.deb`);
    // As root, the extracted tree kept the files' owners; otherwise they are ours now, and root's again in the package.
    const owners = process.getuid?.() === 0 ? [] : ['--root-owner-group'];
    execFileSync('dpkg-deb', [...owners, '--build', tree, repacked], { stdio: 'ignore' });
    return repacked;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
