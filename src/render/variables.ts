/** The template variables Kolla's Dockerfile.j2 files read, for one image and distro. */
export interface TemplateVariables {
  base_distro: string;
  base_distro_tag: string;
  base_image: string;
  base_package_type: 'deb' | 'rpm';
  distro_package_manager: 'apt' | 'dnf';
  base_arch: string;
  namespace: string;
  image_prefix: string;
  tag: string;
  image_name: string;
  maintainer: string;
  release: string;
  [extra: string]: unknown;
}
