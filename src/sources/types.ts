import { stripUserinfo } from '../util/url-login.js';

/** A finished file for an image's build context. */
export interface PreparedArchive {
  /** The file name inside the build context, e.g. `keystone-base-archive` or `plugins-archive`. */
  path: string;
  /** Absolute path of the archive in the content-addressed cache; read it from there, it is never held in memory. */
  file: string;
  /** What goes into the image's input digest: equal identity, equal archive content. */
  identity: string;
}

/** A source that could not be fetched or packed; one line that names the section and never a credential. */
export class SourceError extends Error {
  constructor(
    readonly section: string,
    problem: string,
  ) {
    super(stripUserinfo(`${section}: ${problem}`.replace(/\s*\n\s*/g, ' ').trim()));
    this.name = 'SourceError';
  }
}
