import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../util/child-environment.js';
import { UsageError } from '../util/errors.js';
import {
  readerOutputSchema,
  type KollaCondition,
  type KollaOption,
  type KollaOptionGroups,
  type KollaSourceEntry,
} from './checkout-data.js';
import { kollaVersion, type KollaVersionInfo } from './kolla-version.js';

/** A Kolla checkout that cannot be read: one line naming the file and the name that was not understood. */
export class KollaCheckoutError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'KollaCheckoutError';
  }
}

export interface KollaDistro {
  /** The image a root image is FROM by default (`debian`, `quay.io/rockylinux/rockylinux`). */
  baseImage: string;
  baseTag: string;
  /** What /etc/os-release's PRETTY_NAME must match (a glob on some branches); null when the checkout has none. */
  prettyName: string | null;
}

export interface KollaUser {
  uid: number;
  gid: number;
  /** The table's group, else the section name without `-user`, as kolla-build defaults it. */
  group: string;
}

/** How kolla-build derives the values its templates get, as this release does it. */
export interface KollaTemplateRules {
  /** The keys of the dict kolla-build renders every Dockerfile.j2 with, in the release's order. */
  keys: string[];
  /** strftime format of `build_date`; null on releases that have no build_date. */
  buildDateFormat: string | null;
  /** First matching rule gives `distro_python_version`; null on releases that have none. */
  distroPythonVersion: { when: KollaCondition[]; value: string }[] | null;
  /** Names templates can call (`handle_repos`...) and filters (`customizable`). */
  globals: string[];
  filters: string[];
  /** `openstack_branch` is `<then><release>` for `release`, else `<else><release>`. */
  branchPrefix: { release: string; then: string; else: string };
  /** The default image tag: kolla's version, or a format over option values (`{openstack_release}-{base}-...`). */
  defaultTag: { kind: 'kolla-version' } | { kind: 'format'; format: string };
}

export interface KollaReposYaml {
  /** Absolute folder of Kolla's repos files (kolla/template). */
  dir: string;
  files: string[];
  /** Whether an operator's repos_yaml replaces Kolla's file or is merged over it. */
  override: 'replace' | 'merge';
  /** A file used instead of repos.yaml when its condition holds over base_distro / base_distro_tag. */
  variants: { file: string; when: KollaCondition }[];
}

export interface KollaCheckout {
  dir: string;
  /** Absolute path of the image tree, and where it sits in the checkout. */
  imageTree: string;
  imageTreeLocation: 'docker' | 'kolla/docker';
  release: string;
  /** OPENSTACK_RELEASE_CODENAME; null on releases that do not define it. */
  codename: string | null;
  maintainer: string;
  tarballsBase: string | null;
  distros: Record<string, KollaDistro>;
  architectures: string[];
  users: Record<string, KollaUser>;
  sources: Record<string, KollaSourceEntry>;
  profiles: Record<string, string[]>;
  /**
   * Kolla's table: each key is `+`-joined elements, each naming a value of `keyElements` (`base`, `base_arch`,
   * and `base_tag` on some releases); an entry applies when every element of its key is one of those values.
   */
  unbuildable: { table: Record<string, string[]>; keyElements: string[] };
  options: KollaOptionGroups;
  templates: KollaTemplateRules;
  reposYaml: KollaReposYaml;
  version: KollaVersionInfo;
}

export interface ReadCheckoutOptions {
  /** The Python that reads the checkout; any python3 works, Kolla's dependencies are not needed. */
  python?: string;
  /** Environment for PBR_VERSION; defaults to this process's. */
  env?: NodeJS.ProcessEnv;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function locateImageTree(dir: string): 'docker' | 'kolla/docker' {
  // Kolla itself recognises its tree by the base image's folder.
  for (const location of ['kolla/docker', 'docker'] as const) {
    if (isDirectory(join(dir, location, 'base'))) return location;
  }
  throw new KollaCheckoutError(`${dir}: not a Kolla checkout: neither docker/base nor kolla/docker/base exists`);
}

/** The Python program that reads a checkout; the build puts it beside this module in dist/. */
const readerProgram = fileURLToPath(new URL('./checkout_reader.py', import.meta.url));

/**
 * Python isolated (-I: neither the current folder nor the script's, no PYTHON* variables, no user site)
 * and without site packages (-S: no .pth file runs), from the reader's own folder: a checkout's ast.py,
 * json.py or glob.py is never imported in place of the standard library's.
 */
const ISOLATED = ['-I', '-S', '-X', 'utf8'];

function pythonEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(childEnvironment()).filter(([name]) => !name.startsWith('PYTHON')));
}

function runReader(python: string, dir: string): string {
  if (!existsSync(readerProgram)) throw new Error(`internal: ${readerProgram} is missing (npm run build copies it)`);
  try {
    return execFileSync(python, [...ISOLATED, readerProgram, dir], {
      cwd: dirname(readerProgram),
      env: pythonEnvironment(),
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new KollaCheckoutError(`${python} not found: reading a Kolla checkout needs python3`);
    }
    const line = (failure.stderr ?? '').trim().split('\n').pop() ?? '';
    throw new KollaCheckoutError(line !== '' ? line : `${python} failed reading ${dir}`);
  }
}

function optionDefault(options: KollaOption[], name: string): KollaOption['default'] {
  return options.find((option) => option.name === name)?.default;
}

/** Everything kolla-build takes from its own code, read from the checkout at `dir`. */
export function readKollaCheckout(dir: string, options: ReadCheckoutOptions = {}): Promise<KollaCheckout> {
  return Promise.resolve().then(() => readKollaCheckoutSync(dir, options));
}

/** readKollaCheckout for the configuration loader, which reads everything before any command runs. */
export function readKollaCheckoutSync(dir: string, options: ReadCheckoutOptions = {}): KollaCheckout {
  const root = resolve(dir);
  if (!isDirectory(root)) throw new KollaCheckoutError(`${root}: no such directory`);
  const imageTreeLocation = locateImageTree(root);
  const stdout = runReader(options.python ?? 'python3', root);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new KollaCheckoutError(`${root}: the checkout reader printed something that is not JSON`);
  }
  const parsed = readerOutputSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KollaCheckoutError(`${root}: ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'unexpected shape'}`);
  }
  const data = parsed.data;
  const config = data.config;
  const maintainer = optionDefault(config.options.base, 'maintainer');
  if (typeof maintainer !== 'string') {
    throw new KollaCheckoutError(`${join(root, 'kolla/common/config.py')}: maintainer: no string default`);
  }
  const tagDefault = optionDefault(config.options.cli, 'tag');
  const derivedTag = config.derivedDefaults['tag'];
  const distros: Record<string, KollaDistro> = {};
  for (const [name, image] of Object.entries(config.defaultBaseImages)) {
    distros[name] = { baseImage: image.name, baseTag: image.tag, prettyName: config.distroPrettyNames[name] ?? null };
  }
  const users: Record<string, KollaUser> = {};
  for (const [section, user] of Object.entries(data.users)) {
    users[section] = { uid: user.uid, gid: user.gid, group: user.group ?? section.replace(/-user$/, '') };
  }
  const profiles: Record<string, string[]> = {};
  for (const profile of config.options.profiles) {
    profiles[profile.name] = Array.isArray(profile.default) ? profile.default : [];
  }
  return {
    dir: root,
    imageTree: join(root, imageTreeLocation),
    imageTreeLocation,
    release: config.openstackRelease,
    codename: config.openstackReleaseCodename ?? null,
    maintainer,
    tarballsBase: config.tarballsBase ?? null,
    distros,
    architectures: config.architectures,
    users,
    sources: data.sources,
    profiles,
    unbuildable: { table: data.unbuildable, keyElements: data.worker.unbuildableKeyElements },
    options: config.options,
    templates: {
      keys: data.worker.templateKeys,
      buildDateFormat: data.worker.templateKeys.includes('build_date') ? data.worker.buildDateFormat : null,
      distroPythonVersion: data.worker.distroPythonVersion,
      globals: data.worker.templateGlobals,
      filters: data.worker.templateFilters,
      branchPrefix: config.branchPrefix,
      defaultTag:
        derivedTag !== undefined && 'format' in derivedTag
          ? { kind: 'format', format: derivedTag.format }
          : typeof tagDefault === 'object' && tagDefault !== null && '$ref' in tagDefault
            ? { kind: 'kolla-version' }
            : { kind: 'format', format: typeof tagDefault === 'string' ? tagDefault : '' },
    },
    reposYaml: { dir: join(root, 'kolla/template'), ...data.repos },
    version: kollaVersion(root, options.env ?? process.env),
  };
}
