/** Types of s3-server.mjs (plain JavaScript so that jest's global setup and scripts load it as it is). */
export interface TestS3Server {
  readonly endpoint: string;
  readonly port: number;
  /** fauxqs checks no signature: any credentials do; these are what the tests send. */
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Stops listening; the data stays for `start()`. */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same data. */
  start(): Promise<void>;
}

export function startS3Server(options?: { port?: number }): Promise<TestS3Server>;
