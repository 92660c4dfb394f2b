/**
 * Kolla's `debian_package_install(packages, clean_package_cache=True)` template method: one
 * shell line that installs apt packages, and .deb files given by URL, in the form Kolla's
 * templates expect (they place it after `RUN`).
 */
export function debianPackageInstall(packages: unknown, cleanPackageCache = true): string {
  // Templates call it with any value: only a list of names is read (a mapping's own `filter` never runs).
  if (!Array.isArray(packages) || !packages.every((name) => typeof name === 'string'))
    throw new TypeError('debian_package_install: packages must be a list of package names');
  const fromRepository = packages.filter((name) => !name.startsWith('http'));
  const fromUrl = packages.filter((name) => name.startsWith('http'));
  const commands: string[] = [];
  if (fromRepository.length > 0) {
    commands.push(
      'apt-get --error-on=any update',
      `apt-get -y install --no-install-recommends ${fromRepository.join(' ')}`,
    );
    if (cleanPackageCache) commands.push('apt-get clean', 'rm -rf /var/lib/apt/lists/*');
  }
  for (const url of fromUrl) {
    const file = url.slice(url.lastIndexOf('/') + 1);
    commands.push(`curl --location ${url} -o ${file}`, `dpkg -i ${file}`, `rm -rf ${file}`);
  }
  return commands.join(' && ');
}
