/**
 * The configuration's inputs as sources — each local folder a FolderSource, each `s3://` prefix an
 * S3Source — started together, looked at together, closed together; and what object storage adds
 * to the daemon: one S3 client for every bucket setting, the readiness check of each bucket, event
 * notifications POSTed to `/hooks/s3`.
 *
 * Ledger ids stay unique across inputs: the first local folder keeps its files' paths inside it
 * (as before several inputs existed, so old ledgers stay valid), another local folder's files are
 * named by their absolute paths, objects by their URLs.
 */
import { firstLocal } from './inputs.js';
import type http from 'node:http';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import type { Check } from '../http/health.js';
import type { Logger } from '../log.js';
import { FolderSource } from './folder/folder-source.js';
import { usesObjectStorage, type Places } from './places.js';
import { connectS3, type S3Connection } from './s3/client.js';
import { checkLocation } from './s3/health.js';
import { nameRequestsInErrors } from './s3/request-context.js';
import { handleEventRequest, type ObjectHint } from './s3/hints.js';
import { parseS3Folder, type S3Location } from './s3/location.js';
import { S3Source } from './s3/s3-source.js';
import type { InputSource, SourceHandlers } from './source.js';


/** One client for every bucket of the configuration (null when none). */
export function connectObjectStorage(config: Config): S3Connection | null {
  if (!usesObjectStorage(config)) return null;
  const s3 = connectS3(config.s3);
  nameRequestsInErrors(s3.client);
  return s3;
}

/** Every location in object storage the configuration names: inputs first (marked), then outputs and export folders. */
export function bucketLocations(config: Config): Array<{ location: S3Location; input: boolean }> {
  const seen = new Set<string>();
  const found: Array<{ location: S3Location; input: boolean }> = [];
  const add = (location: S3Location, input: boolean) => {
    if (seen.has(location.url)) return;
    seen.add(location.url);
    found.push({ location, input });
  };
  for (const input of config.inputs) if (input.location) add(input.location, true);
  for (const [name, location] of Object.entries(config.buckets)) if (name !== 'input' && location) add(location, false);
  for (const spec of config.exports) if (spec.toS3) add(parseS3Folder(spec.toS3.url.slice(0, spec.toS3.url.lastIndexOf('/') + 1)), false);
  return found;
}

export interface SourcesOptions {
  config: Config;
  log: Logger;
  places: Places;
  pool: pg.Pool;
  signal: AbortSignal;
}

export class Sources {
  readonly list: InputSource[];

  constructor(private readonly options: SourcesOptions) {
    const { config, log, places, pool, signal } = options;
    const relativeIds = firstLocal(config);
    this.list = config.inputs.map((input) =>
      input.location
        ? new S3Source({ config, log, places, location: input.location, pool, signal })
        : new FolderSource({ config, log, places, signal, dir: input.folder, relativeIds: input.folder === relativeIds }),
    );
  }

  /** Starts every source; `room(source)` resolves once the queue has room for more of its arrivals. */
  async start(handlers: SourceHandlers, room: (source: InputSource) => Promise<void>): Promise<void> {
    for (const source of this.list) await source.start({ ...handlers, room: () => room(source) });
  }

  async rescan(): Promise<void> {
    await Promise.all(this.list.map((s) => s.rescan()));
  }

  /** The least recent sign of life of any source's discovery, and whether one is closed. */
  health(): { lastRescanAt: number; closed: boolean } {
    const all = this.list.map((s) => s.health());
    return { lastRescanAt: Math.min(...all.map((h) => h.lastRescanAt)), closed: all.some((h) => h.closed) };
  }

  /** The S3 sources' names, for a log line. */
  describe(): string {
    return this.list.map((s) => (s instanceof FolderSource ? s.folder : s.name)).join(', ');
  }

  /**
   * `/hooks/s3`: S3 event notifications (MinIO's webhook target, or AWS's format) as hints to the
   * sources whose prefix they name. Authentication is the listener's (its bearer token).
   */
  async hook(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const metrics = this.options.places.s3?.metrics;
    const s3Sources = this.list.filter((s): s is S3Source => s instanceof S3Source);
    if (!metrics || s3Sources.length === 0) {
      response.writeHead(404, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      return void response.end(JSON.stringify({ error: 'no input is in object storage' }));
    }
    const onHints = async (hints: ObjectHint[]) => {
      // Answered once queued (each source keeps a bounded queue of hints); the HeadObjects run after the answer.
      for (const source of s3Sources) void source.hint(hints, 'http');
    };
    await handleEventRequest(request, response, onHints, metrics);
  }

  async close(): Promise<void> {
    await Promise.all(this.list.map((s) => s.close()));
  }
}

/** `/readyz`'s check of every bucket location (a one-key listing each); an input's does not pause the other inputs. */
export async function bucketChecks(places: Places, config: Config): Promise<Check[]> {
  const s3 = places.s3;
  if (!s3) return [];
  return Promise.all(
    bucketLocations(config).map(async ({ location, input }) => ({ ...(await checkLocation(s3, location, AbortSignal.timeout(10_000))), ...(input ? { input: true } : {}) })),
  );
}
