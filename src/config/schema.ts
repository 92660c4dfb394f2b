import { z } from 'zod';

/**
 * Lengths no real value comes near, so that a value rendered into every image (maintainer, a label,
 * a repository line) cannot turn a run into gigabytes of Dockerfiles: names, versions and labels are
 * short; paths, URLs, regexes and apt lines fit PATH_MAX; a Jinja block override is a page of Dockerfile.
 */
const NAME_CHARS = 256;
const LINE_CHARS = 4096;
const BLOCK_CHARS = 64 * 1024;

const tooLong = (max: number) => `at most ${max} characters`;
/** A name, version, tag or label. */
const name = () => z.string().max(NAME_CHARS, tooLong(NAME_CHARS));
/** A path, URL, regex or apt sources line. */
const line = () => z.string().max(LINE_CHARS, tooLong(LINE_CHARS));

/** The characters of a free-form value (customizations): its strings and keys, however nested. */
function charactersOf(value: unknown): number {
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && total <= BLOCK_CHARS) {
    const next = pending.pop();
    if (typeof next === 'string') total += next.length;
    else if (Array.isArray(next)) pending.push(...(next as unknown[]));
    else if (typeof next === 'object' && next !== null) {
      for (const [key, inner] of Object.entries(next)) {
        total += key.length;
        pending.push(inner);
      }
    } else total += String(next).length;
  }
  return total;
}

/**
 * How a distro's root image is obtained: bootstrapped from the distro's repositories
 * (the `sources` lines are what the finished root filesystem keeps), or an image reference.
 */
const bootstrapSource = z
  .object({
    bootstrap: z.literal('mmdebstrap'),
    suite: name().min(1).optional(),
    variant: z.enum(['minbase', 'essential', 'apt', 'required', 'important', 'standard']).default('minbase'),
    include: z.array(name().min(1)).default([]),
    sources: z.array(line().regex(/^deb(-src)? /, 'an apt sources line')).min(1),
  })
  .strict();

/** The engines an adapter exists for; the engine module's EngineName is derived from this list. */
export const ENGINE_NAMES = ['buildah', 'docker', 'podman'] as const;

/**
 * Which Python distributions PyPI advisories apply to: `unowned` those no deb or rpm installed (the
 * OS's advisories judge the rest, knowing its backported fixes), `all` every one.
 */
export const LANGUAGE_PACKAGES = ['unowned', 'all'] as const;

const pinnedVersion = name().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a snapshot version such as 20240816T002610');
const basePath = line()
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/, 'a Pulp base path ending in / with no ".." (e.g. debian/bookworm/)')
  .refine((path) => !path.split('/').includes('..'), 'no ".." segments');

/** A package repository: a pinned Pulp distribution (base_path + version) or a plain mirror URL. */
const repository = z
  .object({
    name: name().regex(/^[a-z0-9][a-z0-9_.-]*$/),
    base_path: basePath.optional(),
    version: pinnedVersion.optional(),
    url: z.url().max(LINE_CHARS, tooLong(LINE_CHARS)).optional(),
    suites: z.array(name().min(1)).optional(),
    components: z.array(name().min(1)).default(['main']),
    trusted: z.boolean().default(false),
    repo_file: name()
      .regex(/^[A-Za-z0-9._-]+\.repo$/)
      .optional(),
    section: name().min(1).optional(),
  })
  .strict()
  .refine((repo) => (repo.url !== undefined) !== (repo.base_path !== undefined), {
    message: 'give either url (a plain mirror) or base_path and version (a Pulp distribution)',
  })
  .refine((repo) => (repo.base_path === undefined) === (repo.version === undefined), {
    message: 'a Pulp repository needs both base_path and version',
  });

/** A URL with no user or password in it: credentials belong in the (vault-encrypted) secrets file. */
function withoutLogin(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  } catch {
    return true; // not a URL at all: z.url() says so
  }
}

const imageSource = z.object({ image: line().min(1), tag: name().min(1) }).strict();

const distro = z
  .object({
    version: name().min(1),
    package_type: z.enum(['deb', 'rpm']),
    base_image: z.union([bootstrapSource, imageSource]),
    repositories: z.array(repository).default([]),
    unbuildable: z.array(line().min(1)).default([]),
    /** PRETTY_NAME of the distro's /etc/os-release, for templates that check it (Kolla's supported_distro_name). */
    pretty_name: name().min(1).optional(),
  })
  .strict();

/**
 * Where an image's source comes from, as kolla-build's `[<image>]`, `[<image>-plugin-<name>]`
 * and `[<image>-additions-<name>]` sections say it.
 */
const imageSourceSection = z
  .object({
    type: z.enum(['url', 'git', 'local']),
    location: line().min(1),
    reference: name().min(1).optional(),
    enabled: z.boolean().default(true),
    /** Url only: Debian architecture (amd64, arm64) → sha256 of the downloaded file. */
    sha256: z.record(name().min(1), z.string().regex(/^[0-9a-f]{64}$/, 'a hex sha256')).optional(),
  })
  .strict()
  .refine((source) => source.type !== 'git' || source.reference !== undefined, {
    message: 'a git source needs reference (a branch, tag or commit)',
    path: ['reference'],
  });

/** One row of the service users table templates read as `users` (Kolla's `<name>-user` sections). */
const serviceUser = z
  .object({
    uid: z.number().int().min(0),
    gid: z.number().int().min(0).optional(),
    group: name().min(1).optional(),
  })
  .strict();

/** A set entry as Kayobe writes it ({regex, enabled}), or a bare regex as a kolla-build profile lists it. */
const setEntry = z.union([
  z.object({ regex: line().min(1), enabled: z.boolean().default(true) }).strict(),
  line()
    .min(1)
    .transform((regex) => ({ regex, enabled: true })),
]);

export const configSchema = z
  .object({
    /** An upstream Kolla checkout whose data (tree, users, sources, distros...) sits below these keys. */
    kolla: z
      .object({
        /** The checkout's root folder. */
        dir: line().min(1).optional(),
        /** A kolla-build.conf (as Kayobe writes it) mapped onto these keys. */
        config: line().min(1).optional(),
      })
      .strict()
      .optional(),
    release: name().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a release name such as zed or 2024.1'),
    /** The release's name (Zed, Epoxy); templates read it as openstack_release_codename. Default: release capitalised. */
    release_codename: name().min(1).optional(),
    /** Image sources by section name (`<image>`, `<image>-plugin-<name>`, `<image>-additions-<name>`). */
    sources: z
      .record(
        name().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'an image name, <image>-plugin-<name> or <image>-additions-<name>'),
        imageSourceSection,
      )
      .default({}),
    /** Service users with fixed uids and gids, given to templates as `users`. */
    users: z.record(name().regex(/^[a-z][a-z0-9_-]*$/, 'a user name'), serviceUser).default({}),
    registry: line().default(''),
    registry_insecure: z.boolean().optional(),
    /**
     * Hosts besides the registry's own whose token service may receive the registry credential in
     * answer to a Bearer challenge (Docker Hub: auth.docker.io). Plain HTTP is refused off loopback.
     */
    registry_token_hosts: z
      .array(
        z
          .string()
          .regex(
            /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/,
            'a host name such as auth.docker.io (no scheme, port or path)',
          ),
      )
      .default([]),
    namespace: name().regex(
      /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
      'a lower-case image namespace',
    ),
    image_prefix: name().default(''),
    maintainer: name().default('ci-builder'),
    /** Where the image tree lives (a repository URL), for the images' source label. */
    image_source: line().optional(),
    engine: z.enum(ENGINE_NAMES).default('buildah'),
    /** The podman service to use (unix://, tcp:// or ssh://); default: CONTAINER_HOST, else the local podman. */
    engine_url: line()
      .regex(/^(unix|tcp|ssh):\/\/\S+$/, 'a podman service URL: unix:///path, tcp://host:port or ssh://user@host/path')
      .optional(),
    /**
     * Engines the runs are spread over (more than one: images hand over through the registry). Each is
     * `local` or a unix://, tcp:// or ssh:// URL; engine defaults to `engine`, slots to `threads`.
     */
    builders: z
      .array(
        z
          .object({
            url: line().regex(
              /^(local|(unix|tcp|ssh):\/\/\S+)$/,
              'local, unix:///path, tcp://host:port or ssh://user@host',
            ),
            engine: z.enum(ENGINE_NAMES).optional(),
            slots: z.number().int().min(1).max(64).optional(),
          })
          .strict(),
      )
      .default([]),
    threads: z.number().int().min(1).max(64).default(2),
    push_threads: z.number().int().min(1).max(64).default(2),
    /** Extra attempts for a failed image build: kolla-build's own default (3); one that passes on a retry is flaky. */
    retries: z.number().int().min(0).max(10).default(3),
    push_attempts: z.number().int().min(1).max(20).default(5),
    /** Seconds a shard's run waits for a parent that another shard builds to reach the registry. */
    shard_wait: z.number().int().min(1).max(86400).default(3600),
    images_dirs: z.array(line().min(1)).min(1),
    distros: z
      .record(name().regex(/^[a-z][a-z0-9]*$/), distro)
      .refine((d) => Object.keys(d).length > 0, 'at least one distro'),
    default_distro: name().optional(),
    sets: z.record(name().regex(/^[a-z][a-z0-9_-]*$/), z.array(setEntry)).default({}),
    secrets: line().optional(),
    pulp: z
      .object({
        // Said without the URL: it would repeat the password it holds.
        url: z.url().max(LINE_CHARS, tooLong(LINE_CHARS)).refine(withoutLogin, {
          message: 'must not carry a user or password: put pulp_username and pulp_password in the secrets file',
        }),
        ca_file: line().optional(),
      })
      .strict()
      .optional(),
    proxy: z
      .object({
        /** Where the proxy keeps content; builds default to `<cache dir>/packages`. */
        cache_dir: line().optional(),
        /** How long a build waits for Pulp's status endpoint through the proxy before giving up. */
        wait_seconds: z.number().int().min(1).max(3600).default(60),
        /**
         * Builds reach every repository (plain mirrors too) through the run's caching proxy. Unset: on, except
         * for a Kolla checkout's tree (kolla.dir), whose templates add repositories of their own.
         */
        package_cache: z.boolean().optional(),
        /** The cache is pruned, least recently used first, to stay under this size. */
        cache_max_gib: z.number().positive().max(100_000).default(20),
      })
      .strict()
      .default({ wait_seconds: 60, cache_max_gib: 20 }),
    /**
     * When only an image's snapshot set moved (its recipe is unchanged): `patch` adds one layer upgrading
     * exactly the packages that moved (or reuses the image when none did); `full` rebuilds it (--full).
     */
    respin: z
      .object({
        mode: z.enum(['patch', 'full']).default('patch'),
        /** An image carrying this many patch layers is rebuilt in full instead of patched again. */
        max_patch_layers: z.number().int().min(1).max(20).default(3),
        /**
         * Where a stacked image is put together: `store` commits it into the engine's store; `registry` (buildah
         * or a local podman, a run that pushes; a scan gate reads the composed root before the push) writes only
         * its last layer and composes the image at the registry, unless an image of the run is built on it, and
         * says why when a run cannot; `auto` composes where the run can, and stacks in the store, saying nothing,
         * where it cannot.
         */
        compose: z.enum(['auto', 'store', 'registry']).default('auto'),
      })
      .strict()
      .default({ mode: 'patch', max_patch_layers: 3, compose: 'auto' }),
    /** The pipeline's scan gate; paths are relative to the file that sets them; flags override. */
    scan: z
      .object({
        /** OSV dumps (all.zip, record folders) or Debian tracker JSON files. */
        osv_db: z
          .union([
            line()
              .min(1)
              .transform((path) => [path]),
            z.array(line().min(1)),
          ])
          .default([]),
        /** The operators' allowed-vulnerabilities.yml. */
        allowed_vulnerabilities: line().min(1).optional(),
        ignore_unfixed: z.boolean().default(false),
        scanner: z.enum(['osv', 'trivy']).default('osv'),
        language_packages: z.enum(LANGUAGE_PACKAGES).default('unowned'),
      })
      .strict()
      .default({ osv_db: [], ignore_unfixed: false, scanner: 'osv', language_packages: 'unowned' }),
    /** Template overrides: files (as kolla-build --template-override), Kayobe's kolla_build_blocks and kolla_build_customizations. */
    build: z
      .object({
        template_overrides: z.array(line().min(1)).default([]),
        blocks: z
          .record(
            name().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Jinja block name'),
            z.string().max(BLOCK_CHARS, tooLong(BLOCK_CHARS)),
          )
          .default({}),
        customizations: z
          .record(
            name().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Jinja variable name'),
            z.unknown().refine((value) => charactersOf(value) <= BLOCK_CHARS, tooLong(BLOCK_CHARS)),
          )
          .default({}),
        /** repos.yaml files for handle_repos: the first is the base, later ones update its sections (kolla-build's repos_yaml). */
        repos_yaml: z.array(line().min(1)).default([]),
        /** kolla-build's rpm_setup_config: .rpm files or URLs to install, .repo files to copy or fetch, in the base image. */
        rpm_setup: z
          .array(line().refine((entry) => entry === '' || /\.(rpm|repo)$/.test(entry), 'a .rpm or .repo file or URL'))
          .default([]),
        /** Folder of `<image>/series` + patch files applied to sources by `kolla_patch` (kolla-build's patches_path). */
        patches_path: line().min(1).optional(),
        use_dumb_init: z.boolean().default(true),
        healthchecks: z.boolean().default(true),
        clean_package_cache: z.boolean().default(true),
        /** The `kolla_version` templates label images with; default: ci-builder's version. */
        kolla_version: name().min(1).optional(),
        /** Seconds a source download or clone may send nothing before it fails (kolla-build's timeout). */
        source_timeout: z.number().int().positive().default(120),
      })
      .strict()
      .default({
        template_overrides: [],
        blocks: {},
        customizations: {},
        repos_yaml: [],
        rpm_setup: [],
        source_timeout: 120,
        use_dumb_init: true,
        healthchecks: true,
        clean_package_cache: true,
      }),
  })
  .strict()
  .superRefine((config, context) => {
    for (const [name, distro] of Object.entries(config.distros)) {
      distro.repositories.forEach((repo, index) => {
        const path = ['distros', name, 'repositories', index];
        if (repo.base_path !== undefined && config.pulp === undefined)
          context.addIssue({
            code: 'custom',
            path: [...path, 'base_path'],
            message: 'a Pulp repository needs pulp.url at the top level',
          });
        if (distro.package_type === 'deb' && !repo.suites?.length)
          context.addIssue({ code: 'custom', path: [...path, 'suites'], message: 'a deb repository needs suites' });
        if (distro.package_type === 'rpm' && (!repo.repo_file || !repo.section))
          context.addIssue({
            code: 'custom',
            path: [...path, 'repo_file'],
            message: 'an rpm repository needs repo_file and section',
          });
      });
      if ('bootstrap' in distro.base_image && distro.repositories.length === 0)
        context.addIssue({
          code: 'custom',
          path: ['distros', name, 'repositories'],
          message: 'a bootstrapped distro needs at least one repository',
        });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type DistroConfig = z.infer<typeof distro>;
export type BootstrapSource = z.infer<typeof bootstrapSource>;
export type SetEntry = z.infer<typeof setEntry>;
export type RepositoryConfig = z.infer<typeof repository>;
