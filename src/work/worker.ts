/**
 * A worker: a small loop that takes a finished arrival from the queue — with the small files of the
 * same dataset waiting behind it, as one load unit — claims them, loads the unit (load/unit.ts),
 * and parks each file the unit could not settle with jittered exponential backoff (the file itself
 * is not touched). After pg-boss's worker: no hot loop, nothing thrown out of it.
 */
import { claimFiles } from '../claim/claim.js';
import type { CompiledDataset } from '../compile.js';
import { errorMessage } from '../errors.js';
import { abortableSleep } from '../lib/sleep.js';
import type { LoadContext } from '../load/context.js';
import { newMember, type Member } from '../load/member.js';
import { loadUnit } from '../load/unit.js';
import { inputOf, recover, retry } from '../outcome/outcome.js';
import { route } from '../route/route.js';
import type { Arrival } from '../source/source.js';
import { lockHolders } from '../load/table.js';
import { qualifiedTable } from '../write/postgres.js';
import { DatasetGate, LOCK_TIMEOUT_CODE } from './gate.js';
import type { WorkQueue } from './queue.js';

/** What a worker's steps share: the load's context, the queue, the datasets waiting, attempts so far per arrival. */
interface Loop {
  ctx: LoadContext;
  queue: WorkQueue;
  gate: DatasetGate;
  failures: Map<string, number>;
}

export async function runWorker(ctx: LoadContext, queue: WorkQueue, gate: DatasetGate): Promise<void> {
  const loop: Loop = { ctx, queue, gate, failures: new Map() };
  for (;;) {
    const item = await queue.take();
    if (!item) return;
    const unit = await unitOf(ctx, queue, item);
    const wait = unit.dataset ? gate.remaining(unit.dataset.name) : 0;
    if (wait > 0) {
      // Its table is locked by another session: the files wait without a worker (gate.ts).
      for (const file of unit.items) queue.retryLater(file, wait + Math.floor(Math.random() * 100), requeue);
      continue;
    }
    await processUnit(loop, unit.dataset, unit.items);
  }
}

/** The dataset an arrival is routed to, or null when none is (its load says why). */
function datasetOf(ctx: LoadContext, item: Arrival): CompiledDataset | null {
  try {
    return route(ctx.config.datasets, item.relative);
  } catch {
    return null;
  }
}

/**
 * `item` and the small files of the same dataset already waiting behind it, within the group
 * bounds: one load unit (just `item` when it is not a small file, or must go alone).
 */
async function unitOf(ctx: LoadContext, queue: WorkQueue, item: Arrival): Promise<{ dataset: CompiledDataset | null; items: Arrival[] }> {
  const dataset = datasetOf(ctx, item);
  const { groupMaxFiles, groupMaxBytes, groupFileMaxBytes, groupWaitMs } = ctx.config.processing;
  if (!dataset || groupMaxFiles <= 1 || item.size > groupFileMaxBytes || queue.alone.has(item.id)) return { dataset, items: [item] };
  // Files of a burst arrive one by one: the first waits a moment for the others (latency: + this).
  if (groupWaitMs > 0) await abortableSleep(groupWaitMs, ctx.signal);
  let bytes = item.size;
  const more = queue.takeMore((other) => {
    if (other.size > groupFileMaxBytes || bytes + other.size > groupMaxBytes || queue.alone.has(other.id)) return false;
    if (datasetOf(ctx, other) !== dataset) return false;
    bytes += other.size;
    return true;
  }, groupMaxFiles - 1);
  return { dataset, items: [item, ...more] };
}

/** The unit's files claimed on one connection, loaded in one transaction, each file's end handled. */
async function processUnit(loop: Loop, dataset: CompiledDataset | null, items: Arrival[]): Promise<void> {
  const { ctx } = loop;
  const started = Date.now();
  let group: Awaited<ReturnType<typeof claimFiles>>;
  try {
    group = await claimFiles(ctx.pool, items, ctx.instanceId);
  } catch (error) {
    for (const item of items) await park(loop, item, null, error);
    return;
  }
  try {
    const members: Member[] = [];
    for (const [index, item] of items.entries()) {
      const claim = group.claims[index];
      if (!claim) {
        done(loop, item, false); // another instance has it, or it changed: it is seen again
        continue;
      }
      ctx.log.event('claimed', { file: item.relative, ...inputOf(item), file_id: claim.fileId, attempt: claim.attempts });
      if (!claim.unsettled) {
        members.push(newMember(claim));
        continue;
      }
      // Loaded before but not moved: finished alone (nothing to load).
      try {
        await recover(ctx, claim, started);
        done(loop, item, true);
      } catch (error) {
        await park(loop, item, claim, error);
      }
    }
    if (members.length === 0) return;
    try {
      await loadUnit(ctx, dataset, members, started);
    } catch (error) {
      for (const member of members) {
        if (member.state !== 'pending' && member.state !== 'staged') continue;
        member.state = 'retry';
        member.error = error;
      }
    }
    const gateDelay = dataset ? await gateAfter(loop, dataset, members) : 0;
    for (const member of members) {
      const item = member.claim.arrival;
      if (member.state === 'deferred') {
        // Its content is in this unit: it comes again alone, after the commit, as a duplicate.
        loop.queue.alone.add(item.id);
        loop.queue.retryLater(item, 0, requeue);
      } else if (member.state === 'retry') {
        if (member.alone) loop.queue.alone.add(item.id);
        await park(loop, item, member.claim, member.error, gateDelay);
      } else {
        done(loop, item, true);
      }
    }
  } finally {
    await group.release();
  }
}

/** Looks at the arrival again where it came from; it is queued once complete. */
const requeue = (item: Arrival) => item.source.lookAgain(item.relative);

/** Out of hand; `settled`: its outcome is durable (its source may move on past it). */
function done(loop: Loop, item: Arrival, settled: boolean): void {
  loop.failures.delete(item.id);
  loop.queue.alone.delete(item.id);
  loop.queue.done(item.id);
  if (settled) item.source.settled?.(item);
}

/**
 * After a unit: a load that timed out on its table's lock closes the dataset's gate (its files then
 * wait without a worker; returns how long, with the lock's holders in their reason); one that got
 * its table opens it.
 */
async function gateAfter(loop: Loop, dataset: CompiledDataset, members: Member[]): Promise<number> {
  const locked = members.filter((m) => m.state === 'retry' && (m.error as { code?: unknown } | null)?.code === LOCK_TIMEOUT_CODE);
  if (locked.length === 0) {
    if (members.some((m) => m.state === 'loaded' || m.state === 'skipped' || m.state === 'failed')) loop.gate.open(dataset.name);
    return 0;
  }
  const reason = await lockHolders(loop.ctx.pool, dataset).catch(() => `table ${qualifiedTable(dataset)} is locked by another session`);
  for (const member of locked) member.error = Object.assign(new Error(`${reason}; the dataset's files wait`), { code: LOCK_TIMEOUT_CODE });
  return loop.gate.close(dataset.name, qualifiedTable(dataset), reason);
}

/** An infrastructure or held error: the outcome module says so; the arrival comes again after the delay. */
async function park(loop: Loop, item: Arrival, claim: Parameters<typeof retry>[2], error: unknown, atLeastMs = 0): Promise<void> {
  const attempt = Math.max(claim?.attempts ?? 0, (loop.failures.get(item.id) ?? 0) + 1);
  loop.failures.set(item.id, attempt);
  let delay: number | null;
  try {
    delay = await retry(loop.ctx, item, claim, error, attempt, atLeastMs);
  } catch (retryError) {
    loop.ctx.log.warn(`${item.relative}: ${errorMessage(retryError)}`);
    delay = loop.ctx.config.processing.retryMaxMs;
  }
  if (delay === null) done(loop, item, true);
  else loop.queue.retryLater(item, delay, requeue);
}
