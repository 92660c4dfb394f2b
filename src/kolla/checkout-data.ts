import { z } from 'zod';

/** An option default the checkout computes instead of writing down: kolla's version, or a function parameter. */
const optionDefault = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string()),
  z.object({ $ref: z.literal('kolla_version') }),
  z.object({ $param: z.string() }),
]);

const optionKind = z.enum([
  'StrOpt',
  'BoolOpt',
  'IntOpt',
  'FloatOpt',
  'ListOpt',
  'DictOpt',
  'MultiOpt',
  'MultiStrOpt',
  'PortOpt',
  'URIOpt',
  'HostnameOpt',
  'HostAddressOpt',
  'IPOpt',
]);

/** One oslo.config option as the checkout declares it (`cfg.StrOpt('base', default=..., choices=...)`). */
export const kollaOptionSchema = z.object({
  kind: optionKind,
  name: z.string(),
  default: optionDefault.optional(),
  choices: z.array(z.string()).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  short: z.string().optional(),
  positional: z.boolean().optional(),
  required: z.boolean().optional(),
  itemType: z.string().nullable().optional(),
  help: z.string().nullable().optional(),
});
export type KollaOption = z.infer<typeof kollaOptionSchema>;
export type KollaOptionKind = z.infer<typeof optionKind>;

/** The option lists of a release: DEFAULT's (cli and base), [profiles]', and those of a source or user section. */
export interface KollaOptionGroups {
  cli: KollaOption[];
  base: KollaOption[];
  profiles: KollaOption[];
  source: KollaOption[];
  user: KollaOption[];
}

/** A condition over the values kolla-build sees (`base`, `base_tag`, `base_distro_tag`...). */
export type KollaCondition =
  | { kind: 'in'; name: string; values: string[] }
  | { kind: 'prefix'; name: string; prefixes: string[] }
  | { kind: 'set'; name: string }
  | { kind: 'all' | 'any' | 'not'; of: KollaCondition[] };
const condition: z.ZodType<KollaCondition> = z.lazy(() =>
  z.union([
    z.object({ kind: z.literal('in'), name: z.string(), values: z.array(z.string()) }),
    z.object({ kind: z.literal('prefix'), name: z.string(), prefixes: z.array(z.string()) }),
    z.object({ kind: z.literal('set'), name: z.string() }),
    z.object({ kind: z.enum(['all', 'any', 'not']), of: z.array(condition) }),
  ]),
);

const sourceEntry = z
  .object({
    type: z.enum(['url', 'git', 'local']),
    location: z.string(),
    reference: z.string().optional(),
    enabled: z.boolean().optional(),
    version: z.string().optional(),
    sha256: z.record(z.string(), z.string()).optional(),
  })
  // The table also carries keys for Kolla's own maintenance scripts (e.g. lts_branch); they are kept.
  .catchall(z.unknown());

/** What the Python reader prints; checked before any of it is trusted. */
export const readerOutputSchema = z.object({
  users: z.record(z.string(), z.object({ uid: z.number(), gid: z.number(), group: z.string().optional() })),
  sources: z.record(z.string(), sourceEntry),
  unbuildable: z.record(z.string(), z.array(z.string())),
  config: z.object({
    distros: z.array(z.string()),
    architectures: z.array(z.string()),
    defaultBaseImages: z.record(z.string(), z.object({ name: z.string(), tag: z.string() })),
    distroPrettyNames: z.record(z.string(), z.string()),
    openstackRelease: z.string(),
    openstackReleaseCodename: z.string().nullable().optional(),
    tarballsBase: z.string().nullable().optional(),
    options: z.object({
      cli: z.array(kollaOptionSchema),
      base: z.array(kollaOptionSchema),
      profiles: z.array(kollaOptionSchema),
      source: z.array(kollaOptionSchema),
      user: z.array(kollaOptionSchema),
    }),
    branchPrefix: z.object({ release: z.string(), then: z.string(), else: z.string() }),
    derivedDefaults: z.record(
      z.string(),
      z.union([z.object({ format: z.string() }), z.object({ expression: z.string() })]),
    ),
  }),
  worker: z.object({
    templateKeys: z.array(z.string()),
    buildDateFormat: z.string().nullable(),
    unbuildableKeyElements: z.array(z.string()),
    distroPythonVersion: z.array(z.object({ when: z.array(condition), value: z.string() })).nullable(),
    templateGlobals: z.array(z.string()),
    templateFilters: z.array(z.string()),
  }),
  repos: z.object({
    files: z.array(z.string()),
    override: z.enum(['replace', 'merge']),
    variants: z.array(z.object({ file: z.string(), when: condition })),
  }),
});
export type ReaderOutput = z.infer<typeof readerOutputSchema>;
export type KollaSourceEntry = z.infer<typeof sourceEntry>;
