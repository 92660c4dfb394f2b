import { z } from 'zod';

/** How a distro's root image is obtained: bootstrapped from its repository, or an image reference. */
const bootstrapSource = z
  .object({
    bootstrap: z.literal('mmdebstrap'),
    mirror: z.string().url(),
    suite: z.string().min(1).optional(),
    variant: z.enum(['minbase', 'essential', 'apt', 'required', 'important', 'standard']).default('minbase'),
    components: z.array(z.string().min(1)).default(['main']),
    include: z.array(z.string().min(1)).default([]),
  })
  .strict();

const imageSource = z.object({ image: z.string().min(1), tag: z.string().min(1) }).strict();

const distro = z
  .object({
    version: z.string().min(1),
    package_type: z.enum(['deb', 'rpm']),
    base_image: z.union([bootstrapSource, imageSource]),
    unbuildable: z.array(z.string().min(1)).default([]),
  })
  .strict();

const setEntry = z.object({ regex: z.string().min(1), enabled: z.boolean().default(true) }).strict();

export const configSchema = z
  .object({
    release: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a release name such as zed or 2024.1'),
    registry: z.string().default(''),
    registry_insecure: z.boolean().optional(),
    namespace: z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, 'a lower-case image namespace'),
    image_prefix: z.string().default(''),
    maintainer: z.string().default('ci-builder'),
    engine: z.enum(['buildah', 'docker']).default('buildah'),
    threads: z.number().int().min(1).max(64).default(2),
    push_threads: z.number().int().min(1).max(64).default(2),
    retries: z.number().int().min(0).max(10).default(0),
    push_attempts: z.number().int().min(1).max(20).default(5),
    images_dirs: z.array(z.string().min(1)).min(1),
    distros: z.record(z.string().regex(/^[a-z][a-z0-9]*$/), distro).refine((d) => Object.keys(d).length > 0, 'at least one distro'),
    default_distro: z.string().optional(),
    sets: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.array(setEntry)).default({}),
    secrets: z.string().optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type DistroConfig = z.infer<typeof distro>;
export type BootstrapSource = z.infer<typeof bootstrapSource>;
export type SetEntry = z.infer<typeof setEntry>;
