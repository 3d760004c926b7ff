/**
 * A TCP fault proxy on `node:net`: sits between a client (the gateway) and a
 * store (Redis, PostgreSQL) and can be switched, at any moment, into the
 * failure modes a network produces.
 *
 * | mode           | new connections                          | open connections                          |
 * |----------------|------------------------------------------|-------------------------------------------|
 * | `pass`         | forwarded                                | forwarded                                 |
 * | `refuse`       | refused (the port stops listening)       | reset (RST), like a killed server         |
 * | `blackhole`    | accepted, nothing answered               | nothing moves either way; bytes wait in   |
 * |                |                                          | the kernel buffers (a partition: they     |
 * |                |                                          | flow again when the mode goes back)       |
 * | `drop-replies` | accepted, requests forwarded             | requests reach the store, every reply is  |
 * |                |                                          | discarded (a link that dies after send)   |
 *
 * `reset()` sends RST on every open connection (both sides) whatever the
 * mode. Used by the chaos harness (chaos/run.ts) and by the store tests.
 *
 * ```ts
 * const proxy = await FaultProxy.start({ host: '127.0.0.1', port: 6379 });
 * const url = `redis://127.0.0.1:${proxy.port}/0`;
 * proxy.setMode('blackhole'); … proxy.setMode('pass');
 * await proxy.close();
 * ```
 */
import { createServer, type Server, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole' | 'drop-replies';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export class FaultProxy {
  readonly target: { host: string; port: number };
  #server: Server;
  #port = 0;
  #mode: ProxyMode = 'pass';
  readonly #pairs = new Set<Pair>();
  #listening = false;
  /** Connections accepted since start. */
  accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.target = target;
    this.#server = this.#makeServer();
  }

  /** Starts a proxy to `target` on 127.0.0.1 (`port` 0: any free port, kept across `refuse`). */
  static async start(target: { host: string; port: number }, port = 0): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await proxy.#listen(port);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Open connection pairs. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Switches mode; resolves once the listener follows (refuse closes it, the others reopen it). */
  async setMode(mode: ProxyMode): Promise<void> {
    const before = this.#mode;
    this.#mode = mode;
    if (mode === 'refuse') {
      this.reset();
      await this.#unlisten();
      return;
    }
    if (!this.#listening) await this.#listen(this.#port);
    if (before === 'blackhole' && mode !== 'blackhole') {
      for (const pair of this.#pairs) this.#resume(pair);
    }
    if (mode === 'blackhole') {
      for (const pair of this.#pairs) {
        pair.client.pause();
        pair.upstream?.pause();
      }
    }
  }

  /** RST on every open connection, both sides. */
  reset(): void {
    for (const pair of this.#pairs) {
      destroyHard(pair.client);
      if (pair.upstream) destroyHard(pair.upstream);
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await this.#unlisten();
  }

  #makeServer(): Server {
    const server = createServer({ noDelay: true }, (client) => this.#accept(client));
    server.on('error', () => {});
    return server;
  }

  async #listen(port: number): Promise<void> {
    this.#server = this.#makeServer();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as { port: number }).port;
    this.#listening = true;
  }

  async #unlisten(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on('error', () => this.#drop(pair));
    client.on('close', () => this.#drop(pair));
    if (this.#mode === 'blackhole') {
      client.pause();
      return;
    }
    this.#connect(pair);
  }

  #connect(pair: Pair): void {
    const upstream = new Socket();
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => this.#drop(pair));
    upstream.on('close', () => this.#drop(pair));
    upstream.connect(this.target.port, this.target.host);
    pair.client.on('data', (chunk: Buffer) => {
      if (this.#mode === 'blackhole') hold(pair.client, chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#mode === 'blackhole') hold(upstream, chunk);
      else if (this.#mode === 'pass') pair.client.write(chunk);
    });
    if (this.#mode === 'blackhole') {
      pair.client.pause();
      upstream.pause();
    }
  }

  #resume(pair: Pair): void {
    if (!pair.upstream) this.#connect(pair);
    pair.client.resume();
    pair.upstream?.resume();
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}

/** A chunk that arrived as the blackhole started goes back to wait with the rest. */
function hold(socket: Socket, chunk: Buffer): void {
  socket.pause();
  socket.unshift(chunk);
}

function destroyHard(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
