import { z } from 'zod';

/** Credentials an operator keeps out of the main config (and, once vaulted, out of plain text). */
export const secretsSchema = z
  .object({
    registry_username: z.string().optional(),
    registry_password: z.string().optional(),
    pulp_username: z.string().optional(),
    pulp_password: z.string().optional(),
  })
  .strict();

export type Secrets = z.infer<typeof secretsSchema>;
