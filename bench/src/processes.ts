import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The shipped launcher, so that components run with the same Node.js settings as in production. */
export const GATEHOUSE_BIN = fileURLToPath(new URL('../../cli/bin/gatehouse', import.meta.url));

export interface Child {
  process: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `gatehouse <args>` as a separate process, so its CPU and memory can be measured on their own. */
export function startGatehouse(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(GATEHOUSE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    process: child,
    pid: child.pid ?? 0,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        // A child killed by a signal has no exit code, but a signal code.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

export function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${host}:${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
