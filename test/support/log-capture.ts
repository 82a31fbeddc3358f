import { Writable } from 'node:stream';

/**
 * A log destination that keeps what the logger writes: `lines` as written (pino writes one JSON line
 * per write), `entries()` parsed. Pass `destination` to createLogger, pino or startTestServer.
 */
export function logCapture(): { destination: Writable; lines: string[]; entries(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { destination, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
