import type { Plan, PlannedImage } from '../plan/plan.js';
import { splitReference } from '../registry/reference.js';

/**
 * The repositories of an image's ancestors in the plan, nearest first: once those are pushed they
 * hold its lower layers, which the registry can then mount into the image's repository instead of
 * receiving them again. Only repositories on the image's own registry count.
 */
export function ancestorRepositories(plan: Pick<Plan, 'images' | 'skippedParents'>, image: PlannedImage): string[] {
  const byName = new Map([...plan.images, ...plan.skippedParents].map((each) => [each.name, each]));
  const registry = splitReference(image.reference)?.registry;
  const repositories: string[] = [];
  const seen = new Set<string>([image.name]);
  for (let parent = image.parent; parent !== null && !seen.has(parent); parent = byName.get(parent)?.parent ?? null) {
    seen.add(parent);
    const parts = splitReference(byName.get(parent)?.reference ?? '');
    if (parts !== undefined && parts.registry === registry) repositories.push(parts.repository);
  }
  return repositories;
}
