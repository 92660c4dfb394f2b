import { fail } from '../util/result.js';
import type { Engine, EngineResult } from './types.js';

/**
 * Every method of an engine, the optional ones too (present or undefined): a guard that forgot one would
 * hide it from every caller, who would then take the slow way round (an image exported instead of mounted).
 */
type EveryMethod = { [K in keyof Required<Engine>]: Engine[K] };

/**
 * The engine with every thrown error or rejection turned into a failure of kind `engine`: an
 * adapter's bug then fails the one operation (retried, reported, counted) instead of the run.
 */
export function guardEngine(engine: Engine): Engine {
  const guard = async <T>(operation: string, call: () => EngineResult<T>): EngineResult<T> => {
    try {
      return await call();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail({ kind: 'engine', message: `${engine.name} ${operation}: ${message}` });
    }
  };
  const mountImage = engine.mountImage?.bind(engine);
  const stackOwnLayers = engine.stackOwnLayers?.bind(engine);
  const copyFiles = engine.copyFiles?.bind(engine);
  const composeLastLayer = engine.composeLastLayer?.bind(engine);
  const imageNames = engine.imageNames?.bind(engine);
  const guarded: EveryMethod = {
    name: engine.name,
    build: (request) => guard('build', () => engine.build(request)),
    push: (request) => guard('push', () => engine.push(request)),
    pull: (request) => guard('pull', () => engine.pull(request)),
    findByLabel: (key, value) => guard('image lookup', () => engine.findByLabel(key, value)),
    inspect: (reference) => guard('inspect', () => engine.inspect(reference)),
    exists: (reference) => guard('inspect', () => engine.exists(reference)),
    tag: (image, reference) => guard('tag', () => engine.tag(image, reference)),
    remove: (reference) => guard('remove', () => engine.remove(reference)),
    run: (request) => guard('run', () => engine.run(request)),
    storagePath: () => guard('info', () => engine.storagePath()),
    exportOci: (reference, dir, options) => guard('export', () => engine.exportOci(reference, dir, options)),
    mountImage: mountImage && ((reference) => guard('mount', () => mountImage(reference))),
    copyFiles: copyFiles && ((reference, paths) => guard('copy', () => copyFiles(reference, paths))),
    stackOwnLayers: stackOwnLayers && ((request) => guard('stack', () => stackOwnLayers(request))),
    composeLastLayer: composeLastLayer && ((request) => guard('compose', () => composeLastLayer(request))),
    imageNames: imageNames && ((reference) => guard('image names', () => imageNames(reference))),
    listContainers: () => guard('container list', () => engine.listContainers()),
    removeContainers: (ids) => guard('container removal', () => engine.removeContainers(ids)),
  };
  return guarded;
}
