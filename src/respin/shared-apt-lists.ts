/**
 * apt's package lists fetched once per run for the images a respin composes, instead of once per image.
 *
 * Each own upgrade points apt at the run's snapshots and runs `apt-get update`: apt fetches, decompresses and
 * parses every index of the sources, which for a snapshot of Debian's size (about 63,000 packages) takes 0.7
 * to 2.5 s, in every image. The sources are the run's and the snapshots do not change under it, so the lists
 * one image's update made are the lists any other image's would make. The first own upgrade to ask exports
 * its lists, verified by its own `apt-get update`, into a folder of the run's; the later ones import them and
 * run no update. An image whose dpkg has foreign architectures neither exports nor imports (its update fetches
 * more lists than the others'), and one that asks while the first is still exporting updates for itself.
 *
 * In the image's root the folder is bound at /mnt (an empty folder in Debian's images; the bind is made in the
 * command's own mount namespace, so nothing of it reaches the layer), and CI_BUILDER_APT_LISTS says what to do.
 * The lists the import copies in go where the update would write them, and the restore step drops both alike.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { APT_LISTS_MOUNT, APT_LISTS_VARIABLE } from '../engine/types.js';

export type AptListsMode = 'export' | 'import';

/** The script's lines in place of `apt-get update`: what the variable says, where /mnt is the run's folder. */
export function aptListsCommands(): string[] {
  const lists = '/var/lib/apt/lists';
  const shared = `grep -qs ' ${APT_LISTS_MOUNT} ' /proc/self/mountinfo && [ -z "$(dpkg --print-foreign-architectures)" ]`;
  return [
    `if [ "\${${APT_LISTS_VARIABLE}:-}" = import ] && ${shared}; then cp -p ${APT_LISTS_MOUNT}/* ${lists}/; else apt-get update; fi`,
    `if [ "\${${APT_LISTS_VARIABLE}:-}" = export ] && ${shared}; then find ${lists} -maxdepth 1 -type f ! -name lock -exec cp -p -t ${APT_LISTS_MOUNT}/ {} +; fi`,
  ];
}

/** The image log's line on what an upgrade did with the run's lists. */
export function describeAptLists(mode: AptListsMode): string {
  return mode === 'export'
    ? "apt lists: fetched by this image's apt-get update and kept for the run's later upgrades"
    : "apt lists: the run's, copied in (no apt-get update)";
}

/** The run's one lists folder and whether it holds a whole export yet. */
export class SharedAptLists {
  private state: 'empty' | 'exporting' | 'ready' = 'empty';

  constructor(readonly folder: string) {}

  /** What this upgrade does with the lists: import the export, be the one to export, or update as before. */
  claim(): AptListsMode | undefined {
    if (this.state === 'ready') return 'import';
    if (this.state === 'exporting') return undefined;
    this.state = 'exporting';
    return 'export';
  }

  /**
   * After an exporting upgrade: the lists are ready once it succeeded and left files (an image with foreign
   * architectures, or a root without /mnt, exports none); otherwise the next upgrade to ask exports.
   */
  async settle(mode: AptListsMode | undefined, succeeded: boolean): Promise<void> {
    if (mode !== 'export') return;
    const files = await readdir(this.folder).catch(() => []);
    if (succeeded && files.length > 0) {
      this.state = 'ready';
      return;
    }
    // A failed upgrade may have exported part of the lists: none of it is offered.
    await Promise.all(files.map((file) => rm(join(this.folder, file), { recursive: true, force: true })));
    this.state = 'empty';
  }
}
