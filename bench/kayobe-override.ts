/**
 * A template override as an operator's Kayobe writes it from `kolla_build_blocks` and
 * `kolla_build_customizations`: `# Ansible managed`, a blank line, `{% extends parent_template %}`,
 * a blank line, then each block and each `{% set name = <json> %}` followed by a blank line.
 * The blocks are ones every Kolla branch's templates define (the base image's distro hooks, a
 * per-image footer and the `footer` every image has); the customizations are names the templates
 * read through the `customizable` filter, and a site variable a block prints. Contents mix plain
 * lines, expressions, `super()`, a condition, a customized list read again after Kolla's filter
 * changed it, and the trailing newline a YAML literal block leaves; `to_json` escapes the non-ASCII.
 */
export const kayobeBlocks: Record<string, string> = {
  base_debian_after_sources_list:
    'RUN echo "deb http://mirror.example.net/{{ base_distro }} stable main" \\\n' +
    '    > /etc/apt/sources.list.d/site-mirror.list\n',
  base_centos_repo_overrides_post_rpm:
    "{% if base_arch == 'x86_64' %}\nRUN dnf config-manager --set-disabled epel || true\n{% endif %}",
  base_ubuntu_package_sources_list: '{{ super() }}\nRUN echo "site sources for {{ base_distro }}" > /etc/site-sources',
  keystone_footer:
    'RUN mkdir -p /etc/keystone/domains \\\n' +
    '    && echo "{{ keystone_packages | join(\' \') }}" > /etc/keystone/domains/.site-packages',
  footer: 'LABEL site.image="{{ image_name }}" site.arch=\'{{ base_arch }}\' site.contact="{{ site_contact }}"\n',
};

export const kayobeCustomizations: Record<string, unknown> = {
  keystone_packages_append: ['python3-ldap', 'python3-pyasn1'],
  keystone_base_pip_packages_append: ['python-binary-memcached>=0.31'],
  openstack_base_pip_packages_remove: ['WSME', 'Tempita'],
  openstack_base_packages_append: ['site-tools-"quoted"-\'name\''],
  site_contact: 'Zoë Løvås <cloud-ops@example.net>',
};

/** A value as Ansible's `to_json` writes it (Python's json.dumps: `, ` and `: ` separators, ASCII only). */
function toJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toJson).join(', ')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([key, item]) => `${toJson(key)}: ${toJson(item)}`)
      .join(', ')}}`;
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The rendered template-override.j2, as Kayobe's template produces it. */
export function kayobeOverride(
  blocks: Record<string, string> = kayobeBlocks,
  customizations: Record<string, unknown> = kayobeCustomizations,
): string {
  return [
    '# Ansible managed\n\n{% extends parent_template %}\n\n',
    ...Object.entries(blocks).map(([name, body]) => `{% block ${name} %}\n${body}\n{% endblock %}\n\n`),
    ...Object.entries(customizations).map(([name, value]) => `{% set ${name} = ${toJson(value)} %}\n\n`),
  ].join('');
}
