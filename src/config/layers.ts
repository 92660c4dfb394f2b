/**
 * Deep-merges config layers and remembers which layer set each key, so a
 * validation error can name the file (or flag, or variable) that caused it.
 * Objects merge key by key; arrays and scalars replace.
 */
import { isPlainObject, type PlainObject } from '../util/plain-object.js';

export interface Layer {
  origin: string;
  values: PlainObject;
}

export interface MergedLayers {
  values: PlainObject;
  origins: Map<string, string>;
}

export function mergeLayers(layers: readonly Layer[]): MergedLayers {
  const values: PlainObject = {};
  const origins = new Map<string, string>();
  for (const layer of layers) mergeInto(values, layer.values, layer.origin, [], origins);
  return { values, origins };
}

function mergeInto(
  target: PlainObject,
  source: PlainObject,
  origin: string,
  path: string[],
  origins: Map<string, string>,
): void {
  for (const [key, value] of Object.entries(source)) {
    const keyPath = [...path, key];
    origins.set(keyPath.join('.'), origin);
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) {
      mergeInto(existing, value, origin, keyPath, origins);
    } else {
      target[key] = isPlainObject(value) ? structuredClone(value) : value;
      if (isPlainObject(value)) recordOrigins(value, origin, keyPath, origins);
    }
  }
}

function recordOrigins(value: PlainObject, origin: string, path: string[], origins: Map<string, string>): void {
  for (const [key, child] of Object.entries(value)) {
    origins.set([...path, key].join('.'), origin);
    if (isPlainObject(child)) recordOrigins(child, origin, [...path, key], origins);
  }
}

/** The layer that set the deepest existing prefix of a key path. */
export function originOf(origins: Map<string, string>, path: readonly PropertyKey[], fallback: string): string {
  for (let length = path.length; length > 0; length--) {
    const origin = origins.get(path.slice(0, length).map(String).join('.'));
    if (origin !== undefined) return origin;
  }
  return fallback;
}
