import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  confOptionsOf,
  kollaBuildConfFromFiles,
  readKollaCheckoutSync,
  type KollaBuildConf,
  type KollaCheckout,
  type KollaConfValue,
} from '../kolla/index.js';
import { kollaConfigLayer } from '../kolla/config-layer.js';
import { parseOsloIni, type IniFile } from '../kolla/oslo-ini.js';
import { kollaRenderRules, type KollaRenderRules } from '../kolla/render-rules.js';
import { UsageError } from '../util/errors.js';
import { isPlainObject, type PlainObject } from '../util/plain-object.js';
import { originOf, type Layer } from './layers.js';

/** Where the Kolla checkout and kolla-build.conf are, as the flags or the config's `kolla` key name them. */
export interface KollaSourceOptions {
  dir?: string | undefined;
  config?: string | undefined;
  /** `kolla-build --config-file` / `--config-dir`: several kolla-build.conf files, read in order after `config`. */
  configFiles?: string[] | undefined;
  /** `kolla-build`'s own flags by option name: above every file, as oslo.config puts its command line. */
  commandLine?: Record<string, KollaConfValue> | undefined;
}

export interface LoadedKolla {
  checkout: KollaCheckout;
  /** The kolla-build.conf read, when one was named. */
  configFile: string | undefined;
  layer: Layer;
  rules: KollaRenderRules;
  /** One line naming what kolla-build.conf sets that the release does not know; undefined when nothing. */
  warning: string | undefined;
}

/**
 * The checkout and conf the flags name, else the config's `kolla.dir` / `kolla.config`, made absolute
 * against the file that set them (the working folder for a flag).
 */
export function kollaSourceOf(
  flags: KollaSourceOptions,
  merged: { values: PlainObject; origins: Map<string, string> },
  cwd: string,
): KollaSourceOptions {
  const configured = isPlainObject(merged.values.kolla) ? merged.values.kolla : {};
  const pick = (flag: string | undefined, key: 'dir' | 'config'): string | undefined => {
    if (flag !== undefined) return resolve(cwd, flag);
    const value = configured[key];
    if (typeof value !== 'string' || value === '') return undefined;
    const origin = originOf(merged.origins, ['kolla', key], '');
    return resolve(existsSync(origin) ? dirname(origin) : cwd, value);
  };
  return {
    dir: pick(flags.dir, 'dir'),
    config: pick(flags.config, 'config'),
    configFiles: flags.configFiles?.map((file) => resolve(cwd, file)),
    commandLine: flags.commandLine,
  };
}

function readConfFile(file: string, named: string): IniFile {
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: kolla-build.conf not found (${named})`);
  }
  return parseOsloIni(text, file);
}

function readConf(source: KollaSourceOptions, checkout: KollaCheckout): KollaBuildConf {
  const files = [
    ...(source.config === undefined ? [] : [readConfFile(source.config, '--kolla-config, kolla.config')]),
    ...(source.configFiles ?? []).map((file) => readConfFile(file, '--config-file, --config-dir')),
  ];
  const conf = kollaBuildConfFromFiles(files, confOptionsOf(checkout));
  const commandLine = source.commandLine ?? {};
  // kolla-build's own parser refuses an option its release does not declare; so does this one.
  const declared = new Set([...checkout.options.cli, ...checkout.options.base].map((option) => dest(option.name)));
  const undeclared = Object.keys(commandLine).filter((name) => !declared.has(name));
  if (undeclared.length > 0) {
    const flags = undeclared.map((name) => `--${name.replace(/_/g, '-')}`).join(', ');
    throw new UsageError(`${flags}: not an option of Kolla ${checkout.release}'s kolla-build`);
  }
  return { ...conf, defaults: { ...conf.defaults, ...commandLine } };
}

const dest = (name: string): string => name.replace(/-/g, '_');

/** The checkout's data and the conf's options as a config layer, and the rules rendering follows. */
export function loadKolla(source: KollaSourceOptions, cwd: string, env: NodeJS.ProcessEnv): LoadedKolla | undefined {
  if (source.dir === undefined) {
    if (source.commandLine !== undefined)
      throw new UsageError(
        'kolla-build needs the Kolla checkout to build from: --kolla-dir DIR (or kolla.dir in the config)',
      );
    if (source.config !== undefined) throw new UsageError('--kolla-config needs --kolla-dir (or kolla.dir)');
    return undefined;
  }
  const checkout = readKollaCheckoutSync(source.dir, { env });
  const conf = readConf(source, checkout);
  const { values, settings, unknownOptions } = kollaConfigLayer(checkout, conf, cwd);
  const warning =
    unknownOptions.length === 0
      ? undefined
      : `${[source.config, ...(source.configFiles ?? [])].filter((file) => file !== undefined).join(', ')}: options Kolla ${checkout.release} does not know, ignored: ${unknownOptions.join(', ')}`;
  return {
    checkout,
    configFile: source.config ?? source.configFiles?.[0],
    layer: { origin: source.config ?? source.configFiles?.[0] ?? source.dir, values },
    rules: kollaRenderRules(checkout, settings),
    warning,
  };
}
