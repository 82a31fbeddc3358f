import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a real service (PostgreSQL, Redis), so
 * a test can make the service vanish for one server without stopping the
 * machine's service under every other test running beside it.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Commands held back while frozen, delivered in order on thaw, as TCP delivers them when a stalled path recovers. */
  private held: Array<() => void> | undefined;
  /** Connections accepted since the proxy started. */
  connections = 0;
  /** What clients sent through the proxy, for tests that check what reaches the service. */
  readonly sent: Buffer[] = [];
  /** Whether to keep what clients send in `sent` (off by default: a load test's traffic would pile up). */
  recordSent = false;

  /** The connection stays open but nothing reaches Redis: commands time out. */
  freeze(): void {
    this.held ??= [];
  }

  thaw(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const deliver of held) deliver();
  }

  constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A service URL (credentials and database included) with the proxy as host and port. */
  urlFor(serviceUrl: string): string {
    const url = new URL(serviceUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  start(): Promise<void> {
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (this.recordSent) this.sent.push(chunk);
        const deliver = () => upstream.write(chunk);
        if (this.held) this.held.push(deliver);
        else deliver();
      });
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Stops listening and cuts every open connection, as a crash of the service would. */
  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
