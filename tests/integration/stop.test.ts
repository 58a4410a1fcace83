/**
 * A stop while a file is in hand: the file finishes (files in progress are not cut off), and then
 * nothing of the daemon is left running — no timer, which would keep a process (a jest worker, the
 * CLI after "loadbay stopped") alive after everything was released.
 */
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

it('a stop during a load lets it finish and leaves no timer behind', async () => {
  env = await createTestEnv({
    datasets: { 'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: stop.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n    name: { type: string }\n' },
  });
  const before = timers();
  const daemon = await env.start();
  const claimed = daemon.events.next('claimed', (f) => f.file === 'big.csv');
  const loaded = daemon.events.next('loaded', (f) => f.file === 'big.csv');
  await env.drop('big.csv', `id,name\n${Array.from({ length: 200_000 }, (_, i) => `${i},row ${i}`).join('\n')}\n`);
  await claimed;
  await daemon.stop();
  expect(await loaded).toMatchObject({ rows: 200_000 });
  expect(await env.files('archive', 'rows')).toEqual(['big.csv']);
  expect(timers()).toBeLessThanOrEqual(before);
});
