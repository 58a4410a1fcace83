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
  try {
    validate = ajv.compile(dataset.schema);
    isValid = (firstError ??= recordAjv(false)).compile(dataset.schema);
  } catch (error) {
    throw new ConfigError(`${dataset.file}: /schema: not a valid JSON Schema: ${(error as Error).message}`);
  }
  engine = { steps, validate, isValid, plan: planDataset(dataset, ajv) };
  engines.set(dataset, engine);
  return engine;
}

/** Compiles every dataset now; returns the configuration for chaining. */
export function compileConfig(config: Config): Config {
  for (const dataset of config.datasets) engineOf(dataset);
  return config;
}
