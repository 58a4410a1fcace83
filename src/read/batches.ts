/**
 * Drains an object-mode stream in batches with synchronous `read()` calls: one await per batch,
 * not per record. While the consumer works on a batch nothing is read, so backpressure holds. A
 * stream that failed (or closed) before the first read says so at once: its 'error' was emitted
 * before these listeners existed (a truncated gzip fails while the load still starts its COPY).
 */
import type { Readable } from 'node:stream';

export async function* readInBatches<T>(stream: Readable, size: number): AsyncGenerator<T[]> {
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const onReadable = () => wake?.();
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (error: unknown) => {
    failure ??= error;
    wake?.();
  };
  const onClose = () => {
    if (!ended) failure ??= stream.errored ?? Object.assign(new Error('the input closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    wake?.();
  };
  stream.on('readable', onReadable);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  if (stream.errored) failure = stream.errored;
  else if (stream.readableEnded) ended = true;
  else if (stream.destroyed) onClose();
  let batch: T[] = [];
  try {
    for (;;) {
      let item: T | null;
      while (failure === null && (item = stream.read() as T | null) !== null) {
        batch.push(item);
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
      if (failure !== null) throw failure;
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
    if (batch.length > 0) yield batch;
  } finally {
    stream.removeListener('readable', onReadable);
    stream.removeListener('end', onEnd);
    stream.removeListener('close', onClose);
    // Keep a listener so a late error after we stop reading cannot crash the process.
    stream.removeListener('error', onError);
    stream.on('error', () => undefined);
    if (!ended) stream.destroy();
  }
}
