/**
 * The environment a child process gets: the given one without ci-builder's own variables.
 * Those hold the vault passwords (CI_BUILDER_VAULT_PASSWORD, CI_BUILDER_NEW_VAULT_PASSWORD) and
 * configure ci-builder alone; no engine, git, tar or mmdebstrap needs them, and a build step
 * that printed its environment would put them in a log.
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('CI_BUILDER_')));
}
