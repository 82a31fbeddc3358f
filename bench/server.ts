import { loadConfig } from '../src/config.ts';
import { createServer } from '../src/server.ts';

/**
 * Palisade as the benchmark's child process: configured by the environment
 * bench/http.ts passes, it prints its URL as one JSON line once listening and
 * stops on SIGTERM or when the benchmark process goes away.
 */
const server = await createServer(loadConfig());
const url = await server.start();
process.stdout.write(`${JSON.stringify({ url })}\n`);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
