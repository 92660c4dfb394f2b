import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Forms in which a credential could leak: plain, and base64 of the password and of user:password. */
export function secretForms(username: string, password: string): string[] {
  return [
    password,
    Buffer.from(password).toString('base64'),
    Buffer.from(`${username}:${password}`).toString('base64'),
  ];
}

/** Files under a folder that contain any of the needles. */
export function filesContaining(dir: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const text = readFileSync(path, 'latin1');
        if (needles.some((needle) => text.includes(needle))) hits.push(path);
      }
    }
  };
  walk(dir);
  return hits;
}
