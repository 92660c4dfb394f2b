/**
 * What running template code can reach: the values it was given and made, never the JavaScript behind them.
 * nunjucks looks names and attributes up as JavaScript does, so `range.constructor` is Function and
 * `"".constructor.constructor("…")()` runs code on the build host; a name a template does not define
 * (`constructor`, `valueOf`) is found on Object.prototype; a filter or test named `constructor` is Object.
 * Here a template reads only the own properties of its data (mappings, lists, strings), Python's methods
 * (python-methods.ts) and the globals and filters ci-builder gives it: as Jinja2's SandboxedEnvironment,
 * which kolla-build renders with, refuses `__class__` and its kin. What is refused stops the render with
 * one line naming the attribute; a name or attribute that is simply not there stays undefined.
 */
import nunjucks from 'nunjucks';
import { isPlainObject } from '../util/plain-object.js';
import { pythonMethod } from './python-methods.js';

/** Names that lead from a value to the JavaScript behind it. */
const PROTOTYPE_NAMES = new Set(['constructor', 'prototype', '__proto__']);

function refused(name: string, of: string): Error {
  return new Error(`access to attribute "${name}" of ${of} is refused: templates reach only their own data`);
}

/** What a template may take attributes of: data as YAML, JSON and template literals make it, and strings. */
function isTemplateData(value: object): boolean {
  return Array.isArray(value) || isPlainObject(value) || value instanceof nunjucks.runtime.SafeString;
}

/** What a value is, in the words of a template's author. */
function kindOf(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object' || value === null) return `a ${typeof value}`;
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  return `a ${Object.prototype.toString.call(value).slice(8, -1)} object`;
}

/** `target.name` and `target[name]` in a template. */
export function sandboxedMemberLookup(target: unknown, name: unknown): unknown {
  if (target === undefined || target === null) return undefined;
  const method = pythonMethod(target, name);
  if (method !== undefined) return method;
  const key = typeof name === 'number' ? name : String(name);
  // A function's attributes (call, apply, bind, constructor) are all ways out; no template reads them.
  if (typeof target === 'function') throw refused(String(key), kindOf(target));
  const readable = typeof target !== 'object' || isTemplateData(target);
  if (readable && Object.hasOwn(target, key)) {
    const record = target as Record<string | number, unknown>;
    const value = record[key];
    // As nunjucks: a function held by a mapping (a cycler's next) is called on that mapping.
    return typeof value === 'function'
      ? (...args: unknown[]) => (value as (...args: unknown[]) => unknown).apply(record, args)
      : value;
  }
  if (typeof key === 'string' && (PROTOTYPE_NAMES.has(key) || key.startsWith('__'))) throw refused(key, kindOf(target));
  return undefined;
}

/** The parts of nunjucks' Frame and Context a name lookup reads. */
interface NameScope {
  lookup(name: string): unknown;
}
interface TemplateContext {
  ctx: Record<string, unknown>;
  env: { globals: Record<string, unknown> };
}

/** A bare name in a template: the template's own variables, then the render's values, then the globals. */
export function sandboxedNameLookup(context: TemplateContext, frame: NameScope, name: string): unknown {
  // Frames keep their variables in prototype-less objects: only what the template set is found there.
  const local = frame.lookup(name);
  if (local !== undefined) return local;
  if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
  return Object.hasOwn(context.env.globals, name) ? context.env.globals[name] : undefined;
}

let installed = false;

/** Every template rendered in this process looks names and attributes up through the two functions above. */
export function installRuntimeSandbox(): void {
  if (installed) return;
  installed = true;
  const runtime = nunjucks.runtime as unknown as Record<string, unknown>;
  runtime.memberLookup = sandboxedMemberLookup;
  runtime.contextOrFrameLookup = sandboxedNameLookup;
}

type Registry = Record<string, unknown>;

/** An environment whose filters and tests are found by their own names only (`| constructor` is no filter). */
export class SandboxedEnvironment extends nunjucks.Environment {
  override getFilter(name: string): (...args: unknown[]) => unknown {
    return ownEntry((this as unknown as { filters: Registry }).filters, name, 'filter') as (
      ...args: unknown[]
    ) => unknown;
  }

  getTest(name: string): unknown {
    return ownEntry((this as unknown as { tests: Registry }).tests, name, 'test');
  }
}

function ownEntry(registry: Registry, name: string, what: string): unknown {
  // nunjucks' own words, so errors read the same for a missing filter as before.
  if (!Object.hasOwn(registry, name) || !registry[name]) throw new Error(`${what} not found: ${name}`);
  return registry[name];
}
