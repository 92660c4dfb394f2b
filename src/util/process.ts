import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childEnvironment } from './child-environment.js';

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Standard output, kept whole only when asked for (small outputs such as JSON). */
  stdout: string;
  /** The last lines of standard error, for the failure message. */
  stderrTail: string[];
}

export interface RunOptions {
  /** Default: this process's environment; ci-builder's own variables are removed either way. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Every output line, as it comes: work is streamed, never buffered whole. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  captureStdout?: boolean;
  /** How long a stopped process gets between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

const TAIL_LINES = 20;

/**
 * Runs a command in its own process group, so an abort stops it and every child it
 * started (buildah's RUN steps, docker's build session), not just the first process.
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: 'SIGTERM', stdout: '', stderrTail: ['not started: the run was interrupted'] });
      return;
    }
    const child = spawn(command, args, {
      env: childEnvironment(options.env),
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const stderrTail: string[] = [];
    let killTimer: NodeJS.Timeout | undefined;

    const stop = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(
        () => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'),
        options.killGraceMs ?? 10_000,
      );
    };
    options.signal?.addEventListener('abort', stop, { once: true });

    createInterface({ input: child.stdout }).on('line', (line) => {
      if (options.captureStdout) stdout += `${line}\n`;
      options.onLine?.(line, 'stdout');
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > TAIL_LINES) stderrTail.shift();
      options.onLine?.(line, 'stderr');
    });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', stop);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', stop);
      resolve({ exitCode, signal, stdout, stderrTail });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** One line that says why a command failed, for summaries and errors. */
export function describeFailure(command: string, result: ProcessResult): string {
  const how = result.signal ? `stopped by ${result.signal}` : `exited with ${result.exitCode}`;
  const last = [...result.stderrTail].reverse().find((line) => line.trim() !== '');
  return `${command} ${how}${last ? `: ${last.trim()}` : ''}`;
}
