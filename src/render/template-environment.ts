/**
 * The process environment templates read as `env` (kolla-build passes os.environ), without
 * ci-builder's own variables: the vault password must never be one `{{ env }}` away from an image.
 */
export function templateEnvironment(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('CI_BUILDER_')));
}
