import type { Engine } from '../engine/types.js';
import type { PatchInputs } from '../plan/plan.js';
import type { EventBus } from '../report/events.js';
import type { LayerChangesOf } from '../respin/layer-changes.js';
import type { PackageRecorder } from '../respin/package-recorder.js';
import type { ShardRun } from './parent-from-shard.js';
import type { SharedMounts } from './shared-mounts.js';
import type { PushSettings } from './push-image.js';
import type { RegistryComposition } from './registry-composition.js';
import type { RecordedImages } from './recorded-images.js';
import type { RunSettings } from './settings.js';

/** What one image's step sees of its run, on the builder it runs on. */
export interface ImageStepContext {
  engine: Engine;
  events: EventBus;
  settings: RunSettings;
  runDir: string;
  /** The folder build contexts are written under. */
  contextRoot: string;
  push?: PushSettings;
  shard?: ShardRun;
  /**
   * Images earlier runs recorded (recordedImages): asked for first, since inspecting one image is far quicker
   * than the engine's search by label, which reads every image it holds.
   */
  recordedImages?: RecordedImages;
  /** The builder of a run spread over several, as the events name it. */
  builderName?: string;
  /** How a respin's patch layer reaches the new snapshots (the plan's). */
  patching?: PatchInputs;
  /** Keeps the packages of each image made, for the next respin (a run that may patch, on an engine that mounts). */
  packageRecorder?: PackageRecorder;
  /** The run's mounts of the images its stacks read (a respin's parents), let go when the run ends. */
  parentMounts: SharedMounts;
  /** The changes of a patched parent's layers, walked once for all its children (sharedLayerChanges). */
  layerChanges?: LayerChangesOf;
  /** Set where stacked images are composed at the registry (respin.compose registry, on a run that may). */
  composition?: RegistryComposition;
}
