/** The configuration every command reads: resolved and compiled (a bad step or schema fails here, naming its file). */
import { existsSync } from 'node:fs';
import { compileConfig, type CompiledConfig } from '../compile.js';
import { DEFAULT_LIMITS, loadConfig } from '../config/load.js';
import type { Limits } from '../config/types.js';

export const readConfig = async (path: string): Promise<CompiledConfig> => compileConfig(await loadConfig(path, { databaseUrl: process.env['DATABASE_URL'] }));

/** infer reads with the configuration's limits; without a configuration file (the default path missing), with the defaults. */
export async function inferLimits(path: string, defaultPath: string): Promise<Limits> {
  if (path === defaultPath && !existsSync(path)) return DEFAULT_LIMITS;
  return (await readConfig(path)).limits;
}
