const FROM_BASE = 'FROM {{ namespace }}/{{ image_prefix }}respin-base:{{ tag }}';

/**
 * The respin tests' small tree, built against the snapshots: a root image installing packages snapshot B moves
 * (tzdata, openssl and libssl3), a child that installs nothing, and a memcached image (C bumps memcached)
 * running as its own user.
 */
export const RESPIN_TREE = {
  'respin-base/Dockerfile.j2': [
    'FROM {{ base_image }}:{{ base_distro_tag }}',
    'RUN apt-get update && apt-get install -y --no-install-recommends tzdata openssl && rm -rf /var/lib/apt/lists/*',
    '',
  ].join('\n'),
  'respin-base/respin-child/Dockerfile.j2': `${FROM_BASE}\nRUN echo child > /etc/respin-child\n`,
  'respin-base/respin-memcached/Dockerfile.j2': [
    FROM_BASE,
    'RUN apt-get update && apt-get install -y --no-install-recommends memcached && rm -rf /var/lib/apt/lists/*',
    'LABEL ci-builder.version-package="memcached"',
    'USER memcache',
    '',
  ].join('\n'),
};
