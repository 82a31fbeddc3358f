import { createServer, type Server, type Socket } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freeLoopbackPort } from './free-port.ts';

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

/**
 * A real SMTP server on loopback (the `smtp-server` package) that keeps what
 * it receives, so tests follow the links Palisade emails.
 */
export class TestInbox {
  readonly messages: ReceivedMail[] = [];
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((mail: ParsedMail) => {
            const to = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) =>
              a.value.map((v) => (v.address ?? '').toLowerCase()),
            );
            this.messages.push({ to, subject: mail.subject ?? '', text: mail.text ?? '' });
            callback();
          })
          .catch(callback);
      },
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The newest mail to `email` whose text matches, waiting briefly for delivery. */
  async waitFor(email: string, pattern: RegExp, timeoutMs = 10_000): Promise<{ mail: ReceivedMail; match: RegExpMatchArray }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (let i = this.messages.length - 1; i >= 0; i--) {
        const mail = this.messages[i] as ReceivedMail;
        const match = mail.to.includes(email.toLowerCase()) ? mail.text.match(pattern) : null;
        if (match) return { mail, match };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no mail to ${email} matching ${pattern}`);
  }

  /** The token of the newest invitation mailed to `email`. */
  async tokenFor(email: string): Promise<string> {
    const { match } = await this.waitFor(email, /invitations\/accept\?token=([A-Za-z0-9_-]+)/);
    return match[1] as string;
  }
}

/**
 * An SMTP host that accepts the TCP connection and then never says a word, like a hung relay or a
 * firewall that swallows the traffic: the client waits for a greeting that does not come.
 */
export class SilentSmtpServer {
  /** Connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return `smtp://127.0.0.1:${port}`;
  }

  /** Drops the open connections (their clients see them close), then stops listening. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An SMTP URL on a loopback port nobody listens on, so every connection is refused. */
export async function refusingSmtpUrl(): Promise<string> {
  return `smtp://127.0.0.1:${await freeLoopbackPort()}`;
}
