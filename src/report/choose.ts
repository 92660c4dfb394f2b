import type { Reporter } from './events.js';
import { GitHubReporter } from './github.js';
import { LiveReporter } from './live.js';
import { JsonLinesReporter, PlainReporter } from './plain.js';

export interface ProgressChoice {
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
}

/**
 * JSON lines for tools; a GitHub Actions job log when running in one; a live view on a terminal;
 * plain timestamped lines anywhere else.
 */
export function chooseProgressReporter(choice: ProgressChoice, env: NodeJS.ProcessEnv = process.env): Reporter {
  if (choice.json) return new JsonLinesReporter(process.stdout);
  if (env.GITHUB_ACTIONS === 'true')
    return new GitHubReporter(process.stderr, {
      summaryFile: env.GITHUB_STEP_SUMMARY,
      verbosity: choice.quiet ? 'quiet' : 'normal',
    });
  if (process.stderr.isTTY && !choice.quiet && !choice.verbose && !env.CI) return new LiveReporter(process.stderr);
  return new PlainReporter(process.stderr, choice.quiet ? 'quiet' : choice.verbose ? 'verbose' : 'normal');
}
