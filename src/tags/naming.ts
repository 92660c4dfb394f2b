/**
 * How Kolla-Ansible names things, as far as tags go: each container has a tag variable
 * `<key>_tag`, where the key is usually the image name with `-` → `_`; a few images serve
 * other or several keys, and a few keys inherit from a parent that is not their longest prefix.
 */

/** Images whose tag keys are not (only) their own name; every key that deploys the image is listed. */
const TAG_KEYS_OF_IMAGE: ReadonlyMap<string, readonly string[]> = new Map([
  ['dnsmasq', ['ironic_dnsmasq']],
  ['haproxy', ['haproxy', 'glance_tls_proxy', 'neutron_tls_proxy']],
  ['httpd', ['ironic_http', 'keystone_httpd', 'letsencrypt_webserver']],
  ['mariadb-server', ['mariadb', 'mariabackup']],
  ['neutron-metadata-agent', ['neutron_metadata_agent', 'neutron_ovn_metadata_agent']],
  ['neutron-mlnx-agent', ['neutron_mlnx_agent', 'neutron_eswitchd']],
  ['nova-conductor', ['nova_conductor', 'nova_super_conductor']],
  ['openvswitch-db-server', ['openvswitch_db']],
  ['ovn-nb-db-server', ['ovn_nb_db']],
  ['ovn-sb-db-server', ['ovn_sb_db']],
  ['prometheus-v2-server', ['prometheus_server']],
  ['valkey-server', ['valkey']],
]);

/** Keys whose parent tag variable is not the longest key that prefixes them. */
const PARENT_OF_KEY: ReadonlyMap<string, string> = new Map([
  ['cron', 'common'],
  ['fluentd', 'common'],
  ['kolla_toolbox', 'common'],
  ['glance_tls_proxy', 'haproxy'],
  ['neutron_tls_proxy', 'haproxy'],
  ['hacluster_pacemaker_remote', 'hacluster'],
  ['heat_api_cfn', 'heat'],
  ['ironic_neutron_agent', 'neutron'],
  ['ironic_pxe_filter', 'ironic'],
  ['neutron_eswitchd', 'neutron_mlnx_agent'],
  ['nova_compute_ironic', 'nova'],
  ['ovn_sb_db_relay', 'ovn'],
  ['redis_sentinel', 'openstack'],
  ['swift_object_expirer', 'swift'],
  ['tgtd', 'iscsi'],
]);

/** The default key: every container falls back to it. */
export const DEFAULT_KEY = 'openstack';

export function tagKeysOfImage(image: string): readonly string[] {
  return TAG_KEYS_OF_IMAGE.get(image) ?? [image.replaceAll('-', '_')];
}

export function parentExceptionOf(key: string): string | undefined {
  return PARENT_OF_KEY.get(key);
}

/** Kolla's intermediate images (`base`, `<service>-base`) are parents only: no container runs them. */
export function isDeployableImage(image: string): boolean {
  return image !== 'base' && !image.endsWith('-base');
}
