/**
 * From a resolved configuration (plain data, config/) to what runs: per dataset its `prepare:`
 * steps in their compiled form (prepare/compile-steps.ts), its ajv validators and its engine plan
 * (column kernels or records, validate/plan.ts). `compileConfig` compiles every dataset at start-up
 * (and on reload), so that a step or schema that cannot compile stops loadbay with its file and
 * path before any file is read; the compiled datasets are what the stages are handed.
 */
import type { Config, Dataset } from './config/types.js';
import { ConfigError } from './errors.js';
import { compileStep, type PrepareStep } from './prepare/compile-steps.js';
import { recordAjv, type Validators } from './validate/ajv.js';
import { planDataset, type Plan } from './validate/plan.js';

/** A dataset with what runs it: the resolved settings, and its compiled parts. */
export interface CompiledDataset extends Dataset {
  /** The `prepare:` steps, compiled once; both engines interpret this form. */
  readonly steps: readonly PrepareStep[];
  readonly validators: Validators;
  readonly plan: Plan;
}

/** The configuration with every dataset compiled. */
export interface CompiledConfig extends Config {
  datasets: CompiledDataset[];
}

export interface CompileOptions {
  /** Run the dataset on the record path whatever its schema (tests compare the engines). */
  engine?: 'records';
}

let allErrors: ReturnType<typeof recordAjv> | null = null;
let firstError: ReturnType<typeof recordAjv> | null = null;

/** The dataset compiled. Throws ConfigError naming the dataset file and path. */
export function compileDataset(dataset: Dataset, options: CompileOptions = {}): CompiledDataset {
  const steps = dataset.prepare.map((step, i) => {
    try {
      return compileStep(step);
    } catch (error) {
      throw new ConfigError(`${dataset.file}: /prepare/${i}: ${(error as Error).message}`);
    }
  });
  const ajv = (allErrors ??= recordAjv());
  const firstAjv = (firstError ??= recordAjv(false));
  ajv.unknownFormats.length = 0;
  let validators: Validators;
  try {
    const properties = dataset.schema['properties'] as Record<string, unknown> | undefined;
    const proto = properties && Object.hasOwn(properties, '__proto__') ? (properties['__proto__'] as object | boolean) : undefined;
    validators = {
      validate: ajv.compile(dataset.schema),
      isValid: firstAjv.compile(dataset.schema),
      protoValidate: proto === undefined ? null : ajv.compile(proto),
    };
  } catch (error) {
    throw new ConfigError(`${dataset.file}: /schema: not a valid JSON Schema: ${(error as Error).message}`);
  }
  // ajv would pass every value of a format it does not know: refused, not ignored.
  const unknown = ajv.unknownFormats[0];
  if (unknown !== undefined) {
    const known = Object.keys(ajv.formats).filter((name) => ajv.formats[name] !== true);
    throw new ConfigError(`${dataset.file}: /schema: ${unknown.replace(' ignored in schema at path', ' at')}: loadbay checks only the formats ajv-formats knows (${known.join(', ')})`);
  }
  return { ...dataset, steps, validators, plan: planDataset(dataset, steps, ajv, options.engine === 'records') };
}

/** The configuration with every dataset compiled; the first that cannot compile throws. */
/** The configuration with each dataset compiled; a dataset compiled already (readConfig's) is kept, not compiled again. */
export function compileConfig(config: Config | CompiledConfig): CompiledConfig {
  return { ...config, datasets: config.datasets.map((dataset) => ('plan' in dataset ? dataset : compileDataset(dataset))) };
}
