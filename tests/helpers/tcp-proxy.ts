/**
 * A real TCP proxy on 127.0.0.1 in front of a server, that a test tells to misbehave: cut the
 * connections once this many more response bytes have passed, stall them (forward nothing more),
 * or refuse new connections. What passes is otherwise untouched.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  endpoint: string;
  /** Once `bytes` more bytes of responses have passed (over all connections), drop every connection. */
  cutAfter(bytes: number): void;
  /** Once `bytes` more bytes have passed, the connection carrying them forwards nothing more (it stays open, silent); others go on. */
  stallAfter(bytes: number): void;
  /**
   * Drops the connection of the next request whose first line starts with `method` (e.g. "DELETE "),
   * before the server sees it: a client that dies just before that request.
   */
  dropRequest(method: string): void;
  /**
   * The response to the next request whose first line starts with `start` (e.g. "GET /bucket/in/x")
   * stops after `bytes` bytes (headers included): the connection stays open, silent.
   */
  stallResponseTo(start: string, bytes: number): void;
  /** Requests whose first line starts with `start` are held (never forwarded) until `behave()`. */
  holdRequests(start: string): void;
  /**
   * The next request whose first line starts with `start` waits until `action` has run (e.g. another
   * client's write), then goes on — unless the proxy was closed meanwhile (a client that died there).
   */
  beforeRequest(start: string, action: () => Promise<void>): void;
  /** Requests held so far by `holdRequests`. */
  readonly held: number;
  /** Responses stalled so far by `stallResponseTo`. */
  readonly stalledResponses: number;
  /** Back to forwarding everything. */
  behave(): void;
  /** Connections dropped by `cutAfter` so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let plan: { kind: 'cut' | 'stall'; remaining: number } | null = null;
  let cuts = 0;
  let dropMethod: string | null = null;
  let stallTo: { start: string; bytes: number } | null = null;
  let hold: string | null = null;
  let held = 0;
  let before: { start: string; action: () => Promise<void> } | null = null;
  let closed = false;
  let stalledResponses = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    let stalled = false;
    let holding = false;
    /** Response bytes this connection may still pass before it stalls (null: no limit of its own). */
    let budget: number | null = null;
    client.on('data', (chunk: Buffer) => {
      const starts = (prefix: string) => chunk.subarray(0, prefix.length).toString('latin1') === prefix;
      if (dropMethod !== null && starts(dropMethod)) {
        dropMethod = null;
        cuts++;
        return closeBoth();
      }
      if (holding || (hold !== null && starts(hold))) {
        if (!holding) held++;
        holding = true; // this connection's requests go nowhere from now on
        return;
      }
      if (before !== null && starts(before.start)) {
        const { action } = before;
        before = null;
        client.pause();
        void action().then(
          () => {
            if (closed) return;
            upstream.write(chunk);
            client.resume();
          },
          () => closeBoth(),
        );
        return;
      }
      if (stallTo !== null && starts(stallTo.start)) {
        budget = stallTo.bytes;
        stallTo = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (budget !== null) {
        const passing = chunk.subarray(0, budget);
        budget -= passing.length;
        if (passing.length > 0) client.write(passing);
        if (passing.length < chunk.length) {
          stalled = true;
          stalledResponses++;
        }
        return;
      }
      if (!plan) return void client.write(chunk);
      if (plan.remaining >= chunk.length) {
        plan.remaining -= chunk.length;
        return void client.write(chunk);
      }
      const passing = chunk.subarray(0, plan.remaining);
      plan.remaining = 0;
      if (passing.length > 0) client.write(passing);
      const kind = plan.kind;
      plan = null;
      if (kind === 'cut') {
        cuts++;
        // Every connection goes, as when a load balancer restarts mid-transfer.
        for (const socket of [...sockets]) socket.destroy();
        sockets.clear();
      } else {
        stalled = true; // the rest of this response is never sent
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    cutAfter(bytes) {
      plan = { kind: 'cut', remaining: bytes };
    },
    stallAfter(bytes) {
      plan = { kind: 'stall', remaining: bytes };
    },
    dropRequest(method) {
      dropMethod = method;
    },
    stallResponseTo(start, bytes) {
      stallTo = { start, bytes };
    },
    holdRequests(start) {
      hold = start;
    },
    beforeRequest(start, action) {
      before = { start, action };
    },
    get held() {
      return held;
    },
    get stalledResponses() {
      return stalledResponses;
    },
    behave() {
      plan = null;
      dropMethod = null;
      stallTo = null;
      hold = null;
      before = null;
    },
    get cuts() {
      return cuts;
    },
    async close() {
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
