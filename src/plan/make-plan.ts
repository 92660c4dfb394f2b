import { storeCompiledTemplate } from '../render/compiled-cache.js';
import { compiledTemplatesDir, gatherPlanInputs, type GatherRequest } from './gather.js';
import { planFromInputs, type Plan } from './plan.js';

/** Gathers the inputs, plans from them, and keeps the templates the plan compiled for the next run. */
export async function makePlan(request: GatherRequest): Promise<Plan> {
  const { plan, compiledTemplates } = planFromInputs(await gatherPlanInputs(request));
  for (const [key, code] of compiledTemplates) storeCompiledTemplate(compiledTemplatesDir(request.cacheDir), key, code);
  return plan;
}
