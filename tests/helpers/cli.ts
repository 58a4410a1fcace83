/** The built CLI (`dist/cli.js`, which `npm test` builds first) run as a user runs it: a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './env.js';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');

export interface CliOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Node's own arguments, before the script. */
  nodeArgs?: string[];
}

/** A long-running command (`start`): its output so far, and its exit. */
export interface RunningCli {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output: () => string;
  exit: Promise<number | null>;
}

export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** A command run to its end: its exit code, stdout and stderr apart, and both as they came (`out`). */
export function runCli(args: string[], options: CliOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string; out: string }> {
  return runCommand(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], options);
}

export function runCommand(command: string, args: string[], options: CliOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let out = '';
    child.stdout.on('data', (d) => ((stdout += d), (out += d)));
    child.stderr.on('data', (d) => ((stderr += d), (out += d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr, out }));
  });
}
