/**
 * The hostile corpus's folder conditions (tests/hostile/conditions.ts), each in its own environment
 * with a real daemon: refused at the start with the reason, or handled while running — and a good
 * file still loads afterwards.
 */
import { CONDITION_DATASETS, CONDITIONS, stillLoads } from '../hostile/conditions.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

it.each(CONDITIONS.map((c) => [c.name, c] as const))('%s', async (_name, condition) => {
  env = await createTestEnv({ datasets: CONDITION_DATASETS, ...(condition.processing ? { processing: condition.processing } : {}) });
  await condition.arrange?.(env);
  if (condition.refused) {
    await expect(env.start()).rejects.toThrow(condition.refused(env));
    return;
  }
  const daemon = await env.start();
  await condition.verify?.({ env, daemon });
  await stillLoads(env, 'good-after.csv');
});
