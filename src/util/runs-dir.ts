/** Where run folders go by default, relative to the folder a command runs in: `<RUNS_DIR>/<tag>/`. */
export const RUNS_DIR = '.ci-builder/runs';
