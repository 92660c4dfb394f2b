import { chosenDistros } from '../config/distros.js';
import type { LoadedConfig } from '../config/load.js';
import type { Secrets } from '../config/secrets-schema.js';
import { loadSecrets } from '../config/secrets.js';
import { failed, ok, type CheckResult } from '../doctor/check.js';
import { checkRegistry, checkRepositories, checkVaultPassword } from '../doctor/config-checks.js';
import { checkEngineInstalled, checkPodmanStacking, checkRegistryComposition } from '../doctor/engine-checks.js';
import { checkCommand, checkEngineBuilds, checkFreeSpace, checkLocalhost } from '../doctor/host-checks.js';
import { createEngine, type EngineName } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { openConfig, type ConfigChoice } from './workspace.js';

export { formatCheck, type CheckResult } from '../doctor/check.js';

/** `doctor`: can this host build? Every check runs, whatever the ones before found. */
export interface DoctorRequest {
  config: ConfigChoice;
  engine?: string;
  /** Distros whose repositories to check; default every configured one. */
  distros?: readonly string[];
  minFreeGib: number;
  onWarning: (line: string) => void;
  /** Each check as soon as it is done. */
  onCheck: (result: CheckResult) => void;
}

export async function checkHost(request: DoctorRequest): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    request.onCheck(result);
  };
  const configured = openConfigured(request, report);
  const { loaded } = configured;
  await checkEngine(request, loaded, report);
  report(await checkLocalhost());
  if (loaded && Object.values(loaded.config.distros).some((distro) => 'bootstrap' in distro.base_image)) {
    const install = 'apt-get install mmdebstrap (base images are bootstrapped from the repositories)';
    report(await checkCommand('mmdebstrap', 'mmdebstrap', ['--version'], install));
  }
  if (loaded) {
    const files = [...loaded.files, ...(loaded.secretsFile ? [loaded.secretsFile] : [])];
    report(checkVaultPassword(files, request.config.vaultPasswordFile, configured.unlockError));
    report(await checkRegistry(loaded, configured.secrets));
    const distros = request.distros
      ? chosenDistros(loaded.config, request.distros)
      : Object.keys(loaded.config.distros);
    for (const result of await checkRepositories(loaded, configured.secrets, distros)) report(result);
  }
  return results;
}

/** The configuration and its secrets, each failure a check's finding instead of an error. */
function openConfigured(request: DoctorRequest, report: (result: CheckResult) => void) {
  let loaded: LoadedConfig | undefined;
  let secrets: Secrets = {};
  let unlockError: string | undefined;
  try {
    loaded = openConfig(
      request.config,
      request.onWarning,
      request.engine === undefined ? {} : { engine: request.engine },
    );
    report(ok('configuration', loaded.files.join(', ')));
    try {
      secrets = loadSecrets(loaded.secretsFile, loaded.readYaml);
    } catch (error) {
      unlockError = errorMessage(error);
    }
  } catch (error) {
    report(failed('configuration', errorMessage(error), 'fix the file and key named'));
  }
  return { loaded, secrets, unlockError };
}

async function checkEngine(
  request: DoctorRequest,
  loaded: LoadedConfig | undefined,
  report: (result: CheckResult) => void,
): Promise<void> {
  const engineName = (loaded?.config.engine ?? request.engine ?? 'buildah') as EngineName;
  const engineUrl = loaded?.config.engine_url;
  const installed = await checkEngineInstalled(engineName, engineUrl);
  report(installed);
  if (installed.status !== 'ok') return;
  const engine = createEngine(engineName, { url: engineUrl });
  report(await checkEngineBuilds(engine));
  const stacking = await checkPodmanStacking(engineName, engineUrl);
  if (stacking) report(stacking);
  const composing = loaded && checkRegistryComposition(engineName, loaded.config.respin.compose);
  if (composing) report(composing);
  const storage = await engine.storagePath();
  report(await checkFreeSpace(storage.ok ? storage.value : '/var/lib/containers', request.minFreeGib));
}
