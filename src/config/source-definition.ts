/** One source section of the Kolla config: `<image>`, `<image>-plugin-<name>` or `<image>-additions-<name>`. */
export interface SourceDefinition {
  type: 'url' | 'git' | 'local';
  location: string;
  /** Git only: the branch, tag or commit to check out. */
  reference?: string;
  enabled: boolean;
  /** Url only: Debian architecture name (`amd64`, `arm64`) to the hex sha256 of the downloaded file. */
  sha256?: Record<string, string>;
}
