import { readFileSync } from 'node:fs';

/** loadbay's version, from its package.json (the build sits one folder below it, as src does). */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * What Parquet files say wrote them: "<name> version <semver>" is the form parquet-java parses
 * (its checks for writers' known statistics bugs), so a reader can tell versions apart.
 */
export const PARQUET_CREATED_BY = `loadbay version ${VERSION}`;
