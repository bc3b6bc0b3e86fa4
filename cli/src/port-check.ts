import { createServer } from 'node:net';

export interface WantedPort {
  port: number;
  host: string;
  /** the option that sets it, named in the message when it is taken */
  flag: string;
}

/**
 * Checks every port a command will listen on before it starts anything, so that a clash is reported
 * once, for all of them, naming the option that moves each, instead of failing halfway through.
 * Port 0 (any free port) is always free.
 */
export async function takenPorts(wanted: readonly WantedPort[]): Promise<string[]> {
  const problems: string[] = [];
  for (const w of wanted) {
    if (w.port === 0) continue;
    const error = await tryListen(w.port, w.host);
    if (error) problems.push(`port ${w.port} on ${w.host} (${w.flag}) ${error === 'EADDRINUSE' ? 'is taken by another program' : `cannot be used: ${error}`}`);
  }
  return problems;
}

function tryListen(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
