/** Reading a Kolla checkout's own data and kolla-build.conf, for `--kolla-dir`, `--kolla-config` and `kolla-build`. */
export { KollaCheckoutError, readKollaCheckout, readKollaCheckoutSync } from './read-checkout.js';
export type {
  KollaCheckout,
  KollaDistro,
  KollaReposYaml,
  KollaTemplateRules,
  KollaUser,
  ReadCheckoutOptions,
} from './read-checkout.js';
export type { KollaCondition, KollaOption, KollaOptionGroups, KollaSourceEntry } from './checkout-data.js';
export type { KollaVersion, KollaVersionInfo } from './kolla-version.js';
export {
  confOptionsOf,
  kollaBuildConfFromFiles,
  parseKollaBuildConf,
  readKollaBuildConf,
  readKollaConfigDir,
} from './build-conf.js';
export type { KollaBuildConf, KollaConfOptions, KollaConfSource, KollaConfUser, KollaConfValue } from './build-conf.js';
export { kollaBuildSettings } from './effective-options.js';
export type { KollaBuildSettings, KollaOptionValues } from './effective-options.js';
export {
  conditionHolds,
  defaultImageTag,
  distroPythonVersion,
  openstackBranch,
  reposFileFor,
  unbuildableFor,
} from './release-values.js';
