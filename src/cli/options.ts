import { InvalidArgumentError } from '@commander-js/extra-typings';

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** `--distro a,b --distro c` → [a, b, c] */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((item) => item.trim()).filter((item) => item !== '')];
}

export function collectRepeated(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface GlobalOptions {
  config?: string;
  environment?: string;
  vaultPasswordFile?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}
