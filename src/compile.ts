/**
 * From a resolved configuration (plain data, config/) to what runs: per dataset its prepare steps
 * as functions, its ajv validators and its engine plan (column kernels or records, plan.ts). Built
 * once per dataset and kept with it; `compileConfig` builds every dataset at start-up (and on
 * reload) so that a step or schema that cannot compile stops loadbay with its file and path, before
 * any file is read.
 */
import type { ValidateFunction } from 'ajv';
import type { Config, Dataset } from './config/types.js';
import { ConfigError } from './errors.js';
import { resolveStep, type Step } from './prepare/steps.js';
import { recordAjv } from './validate/ajv.js';
import { planDataset, type Plan } from './validate/plan.js';

export interface Engine {
  steps: Step[];
  /** Reports every problem of a record (allErrors). */
  validate: ValidateFunction;
  /** Stops at the first problem: the fast yes/no for the common, valid record. */
  isValid: ValidateFunction;
  /** The schema of a property named `__proto__`, which ajv leaves unchecked in `properties`; null without one. */
  protoValidate: ValidateFunction | null;
  plan: Plan;
}

const engines = new WeakMap<Dataset, Engine>();
let allErrors: ReturnType<typeof recordAjv> | null = null;
let firstError: ReturnType<typeof recordAjv> | null = null;

/** The dataset's engine, compiled on first use. Throws ConfigError naming the dataset file and path. */
export function engineOf(dataset: Dataset): Engine {
  let engine = engines.get(dataset);
  if (engine) return engine;
  const steps = dataset.prepare.map((step, i) => {
    try {
      return resolveStep(step);
    } catch (error) {
      throw new ConfigError(`${dataset.file}: /prepare/${i}: ${(error as Error).message}`);
    }
  });
  const ajv = (allErrors ??= recordAjv());
  let validate: ValidateFunction;
  let isValid: ValidateFunction;
  const firstAjv = (firstError ??= recordAjv(false));
  ajv.unknownFormats.length = 0;
  try {
    validate = ajv.compile(dataset.schema);
    isValid = firstAjv.compile(dataset.schema);
  } catch (error) {
    throw new ConfigError(`${dataset.file}: /schema: not a valid JSON Schema: ${(error as Error).message}`);
  }
  // ajv would pass every value of a format it does not know: refused, not ignored.
  const unknown = ajv.unknownFormats[0];
  if (unknown !== undefined) throw new ConfigError(`${dataset.file}: /schema: ${unknown.replace(' ignored in schema at path', ' at')}: loadbay checks only the formats ajv-formats knows (${knownFormats(ajv).join(', ')})`);
  const properties = dataset.schema['properties'] as Record<string, unknown> | undefined;
  const proto = properties && Object.hasOwn(properties, '__proto__') ? (properties['__proto__'] as object | boolean) : undefined;
  const protoValidate = proto === undefined ? null : ajv.compile(proto);
  engine = { steps, validate, isValid, protoValidate, plan: planDataset(dataset, ajv) };
  engines.set(dataset, engine);
  return engine;
}

function knownFormats(ajv: ReturnType<typeof recordAjv>): string[] {
  return Object.keys(ajv.formats).filter((name) => ajv.formats[name] !== true);
}

/** Compiles every dataset now; returns the configuration for chaining. */
export function compileConfig(config: Config): Config {
  for (const dataset of config.datasets) engineOf(dataset);
  return config;
}
