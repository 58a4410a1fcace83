/** The built CLI (`dist/cli.js`, so `npm run build` first) as a user runs it: exit code and all output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './env.js';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');

export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}
