/**
 * Object-storage metrics: requests by operation and outcome, their durations, listings, event hints
 * and resumed reads. Created unregistered so a test or a second client can have its own; the daemon
 * registers them once with `register(registry)`. Labels are bounded sets (no bucket keys).
 */
import { Counter, Histogram, type Metric, type Registry } from 'prom-client';

export type RequestOutcome = 'ok' | 'transient' | 'config' | 'refused' | 'not_found' | 'changed' | 'other';

export class S3Metrics {
  readonly requests = new Counter({ name: 'loadbay_s3_requests_total', help: 'S3 requests by operation and outcome', labelNames: ['operation', 'outcome'], registers: [] });
  readonly requestSeconds = new Histogram({
    name: 'loadbay_s3_request_duration_seconds',
    help: 'S3 request time until the answer (a GetObject: until its body starts), by operation',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  readonly listedObjects = new Counter({ name: 'loadbay_s3_listed_objects_total', help: 'Objects seen by listings, by kind (incremental from the saved position, full)', labelNames: ['kind'], registers: [] });
  readonly listings = new Counter({ name: 'loadbay_s3_listings_total', help: 'Listings run to the end, by kind', labelNames: ['kind'], registers: [] });
  readonly listingSeconds = new Histogram({
    name: 'loadbay_s3_listing_duration_seconds',
    help: 'Time of a whole listing (every page), by kind',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
    registers: [],
  });
  readonly hints = new Counter({ name: 'loadbay_s3_event_hints_total', help: 'Objects made visible by an event notification, by channel (sqs, http)', labelNames: ['via'], registers: [] });
  readonly rejectedHints = new Counter({ name: 'loadbay_s3_event_hints_rejected_total', help: 'Event notifications that could not be read (too large, not S3 events)', labelNames: ['via'], registers: [] });
  readonly droppedHints = new Counter({
    name: 'loadbay_s3_event_hints_dropped_total',
    help: 'Objects named by event notifications and dropped because the input already had as many waiting to be looked at as it keeps (the listing finds them), by channel',
    labelNames: ['via'],
    registers: [],
  });
  readonly resumes = new Counter({ name: 'loadbay_s3_read_resumes_total', help: 'Object reads resumed with a range request after a dropped connection', registers: [] });
  readonly bytesRead = new Counter({ name: 'loadbay_s3_bytes_read_total', help: 'Bytes read from object bodies', registers: [] });

  register(registry: Registry): void {
    for (const metric of [this.requests, this.requestSeconds, this.listedObjects, this.listings, this.listingSeconds, this.hints, this.rejectedHints, this.droppedHints, this.resumes, this.bytesRead] as Metric[]) {
      registry.registerMetric(metric);
    }
  }
}
