import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YAMLParseError } from 'yaml';
import { requireVaultPassword, resolveVaultPassword } from '../vault/password.js';
import { parseYamlWithVault, VaultYamlError, YamlAliasError } from '../vault/yaml.js';
import type { z } from 'zod';
import { ConfigError, UsageError } from '../util/errors.js';
import type { SourceDefinition } from './source-definition.js';
import type { KollaRenderRules } from '../kolla/render-rules.js';
import { isPlainObject, type PlainObject } from '../util/plain-object.js';
import { kollaSourceOf, loadKolla, type KollaSourceOptions, type LoadedKolla } from './kolla-source.js';
import { mergeLayers, originOf, type Layer } from './layers.js';
import { overridesFromEnvironment, overridesFromFlags, type Overrides } from './overrides.js';
import { configSchema, type Config } from './schema.js';

export interface LoadOptions {
  configDir?: string | undefined;
  /** Where the vault password is, for `!vault` values; else CI_BUILDER_VAULT_PASSWORD. */
  vaultPasswordFile?: string | undefined;
  environment?: string | undefined;
  flags?: Overrides;
  /** --kolla-dir and --kolla-config: an upstream Kolla checkout as the lowest config layer. */
  kolla?: KollaSourceOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  configDir: string;
  environment: string | undefined;
  /** The files read, base first. */
  files: string[];
  /** images_dirs made absolute against the file that named them. */
  imagesDirs: string[];
  /** The secrets file made absolute, when one is configured. */
  secretsFile: string | undefined;
  renderInputs: RenderInputs;
  /** scan.osv_db and scan.allowed_vulnerabilities made absolute. */
  scanFiles: { osvDb: string[]; allowedVulnerabilities: string | undefined };
  /** Reads a YAML file the way the config was read (vault values unlocked with the same password). */
  readYaml: (file: string) => PlainObject;
  /** The vault password when one was given, needed or not: a secret that run output masks. */
  vaultPassword: () => string | undefined;
  /** The Kolla checkout the config layers over, when one is named. */
  kolla: LoadedKolla | undefined;
  /** Lines to print before the command's own output (nothing failed). */
  warnings: string[];
}

/** What rendering reads besides the config itself, its paths made absolute against the file that named them. */
export interface RenderInputs {
  /** build.template_overrides, merged as kolla-build merges them. */
  templateOverrideFiles: string[];
  /** build.repos_yaml for handle_repos; none: the one beside an upstream Kolla tree. */
  reposYamlFiles: string[];
  /** build.patches_path. */
  patchesPath: string | undefined;
  /** Image sources (kolla-build's source sections), local locations absolute. */
  sources: Record<string, SourceDefinition>;
  /** What the Kolla release in use gives its templates, when the config layers over a checkout. */
  kolla?: KollaRenderRules | undefined;
}

export const CONFIG_FILE = 'config.yml';
const bundledConfigDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../etc/ci-builder');

/** Where the configuration lives: flag, then CI_BUILDER_CONFIG, then ./etc/ci-builder, then the bundled example. */
export function resolveConfigDir(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = flag ?? env.CI_BUILDER_CONFIG;
  if (chosen) return resolve(cwd, chosen);
  const local = resolve(cwd, 'etc/ci-builder');
  return existsSync(join(local, CONFIG_FILE)) ? local : bundledConfigDir;
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const configDir = resolveConfigDir(options.configDir, env, cwd);
  const baseFile = join(configDir, CONFIG_FILE);
  // A checkout named on the command line stands alone: the bundled example describes a tree of its own.
  const kollaOnly = configDir === bundledConfigDir && options.kolla?.dir !== undefined;
  if (!kollaOnly && !existsSync(baseFile))
    throw new UsageError(`${baseFile}: config file not found (set --config DIR or CI_BUILDER_CONFIG)`);

  const password = () => requireVaultPassword(options.vaultPasswordFile, 'a value in the configuration', env);
  const readYaml = (file: string) => readYamlObject(file, password);
  const layers: Layer[] = kollaOnly ? [] : [{ origin: baseFile, values: readYaml(baseFile) }];
  const environment = options.environment ?? (env.CI_BUILDER_ENVIRONMENT || undefined);
  if (environment !== undefined)
    layers.push({
      origin: environmentFile(configDir, environment),
      values: readYaml(environmentFile(configDir, environment)),
    });
  layers.push(...overridesFromEnvironment(env), ...overridesFromFlags(options.flags ?? {}));
  const kolla = loadKolla(kollaSourceOf(options.kolla ?? {}, mergeLayers(layers), cwd), cwd, env);
  // The checkout's data is the lowest layer: every key the operator sets overrides it.
  if (kolla !== undefined) layers.unshift(kolla.layer);

  const merged = mergeLayers(layers);
  const parsed = configSchema.safeParse(merged.values);
  if (!parsed.success) throw configErrorFrom(parsed.error, merged.origins, baseFile);
  const config = parsed.data;
  checkCrossReferences(config, merged.origins, baseFile);

  /** A path the config names, made absolute against the folder of the file that set it (the working folder for a flag or variable). */
  const pathFrom = (keyPath: readonly string[], path: string) => {
    const origin = originOf(merged.origins, keyPath, baseFile);
    return resolve(existsSync(origin) ? dirname(origin) : cwd, path);
  };
  const { build } = config;
  return {
    config,
    configDir,
    environment,
    files: layers.map((layer) => layer.origin).filter((origin) => existsSync(origin)),
    imagesDirs: config.images_dirs.map((dir) => pathFrom(['images_dirs'], dir)),
    secretsFile: config.secrets === undefined ? undefined : pathFrom(['secrets'], config.secrets),
    renderInputs: {
      templateOverrideFiles: build.template_overrides.map((file) => pathFrom(['build', 'template_overrides'], file)),
      reposYamlFiles: build.repos_yaml.map((file) => pathFrom(['build', 'repos_yaml'], file)),
      patchesPath:
        build.patches_path === undefined ? undefined : pathFrom(['build', 'patches_path'], build.patches_path),
      sources: Object.fromEntries(
        Object.entries(config.sources).map(([section, source]) => [
          section,
          source.type === 'local'
            ? { ...source, location: pathFrom(['sources', section, 'location'], source.location) }
            : source,
        ]),
      ),
      kolla: kolla?.rules,
    },
    scanFiles: {
      osvDb: config.scan.osv_db.map((path) => pathFrom(['scan', 'osv_db'], path)),
      allowedVulnerabilities:
        config.scan.allowed_vulnerabilities === undefined
          ? undefined
          : pathFrom(['scan', 'allowed_vulnerabilities'], config.scan.allowed_vulnerabilities),
    },
    kolla,
    warnings: kolla?.warning === undefined ? [] : [kolla.warning],
    readYaml,
    vaultPassword: () => givenVaultPassword(options.vaultPasswordFile, env),
  };
}

function givenVaultPassword(file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return resolveVaultPassword(file, env);
  } catch {
    // A password file that cannot be read holds nothing this process could print.
    return undefined;
  }
}

function environmentFile(configDir: string, environment: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(environment))
    throw new UsageError(`invalid environment name "${environment}": letters, digits, '.', '_' and '-' only`);
  const file = join(configDir, 'environments', environment, CONFIG_FILE);
  if (!existsSync(file)) {
    const known = listEnvironments(configDir);
    throw new UsageError(
      `unknown environment "${environment}": ${file} does not exist (known: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  return file;
}

export function listEnvironments(configDir: string): string[] {
  const dir = join(configDir, 'environments');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, CONFIG_FILE)))
    .map((entry) => entry.name)
    .sort();
}

/** A YAML mapping from a file; whole-file vaults and `!vault` values are unlocked with the password. */
export function readYamlObject(
  file: string,
  password: () => string = () => requireVaultPassword(undefined, file),
): PlainObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = parseYamlWithVault(text, password);
  } catch (error) {
    if (error instanceof VaultYamlError) throw new ConfigError(file, error.keyPath, error.message);
    if (error instanceof YamlAliasError) throw new ConfigError(file, '', `invalid YAML: ${error.message}`);
    if (error instanceof UsageError) throw new UsageError(`${file}: ${error.message}`);
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line} column ${error.linePos[0].col}` : '';
      throw new ConfigError(file, where, `invalid YAML: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new ConfigError(file, '', 'expected a mapping of keys to values');
  return value;
}

function configErrorFrom(error: z.ZodError, origins: Map<string, string>, baseFile: string): ConfigError {
  const issue = error.issues[0];
  if (!issue) return new ConfigError(baseFile, '', 'invalid configuration');
  const path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path.push(key);
    message = 'unknown key';
  }
  return new ConfigError(originOf(origins, path, baseFile), path.join('.'), message);
}

function checkCrossReferences(config: Config, origins: Map<string, string>, baseFile: string): void {
  if (config.default_distro !== undefined && !(config.default_distro in config.distros)) {
    throw new ConfigError(
      originOf(origins, ['default_distro'], baseFile),
      'default_distro',
      `expected one of the configured distros (${Object.keys(config.distros).join(', ')})`,
    );
  }
  for (const [setName, entries] of Object.entries(config.sets)) {
    entries.forEach((entry, index) => {
      try {
        new RegExp(entry.regex);
      } catch {
        throw new ConfigError(
          originOf(origins, ['sets', setName, index, 'regex'], baseFile),
          `sets.${setName}.${index}.regex`,
          `expected a valid regular expression, got ${JSON.stringify(entry.regex)}`,
        );
      }
    });
  }
}
