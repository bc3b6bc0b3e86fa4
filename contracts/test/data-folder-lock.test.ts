import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_FOLDER_LOCK_FILE, DataFolderInUseError, lockDataFolder } from '../src/data-folder-lock.js';

const folder = () => mkdtempSync(join(tmpdir(), 'gh-lock-'));

describe('lockDataFolder', () => {
  it('takes a folder, refuses it to a second taker while held, and frees it on release', () => {
    const dir = folder();
    const lock = lockDataFolder(dir, 'gateway a/b');
    expect(JSON.parse(readFileSync(join(dir, DATA_FOLDER_LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, what: 'gateway a/b' });
    expect(() => lockDataFolder(dir, 'gateway a/c')).toThrow(DataFolderInUseError);
    expect(() => lockDataFolder(dir, 'gateway a/c')).toThrow(`data folder ${dir} is in use by gateway a/b (process ${process.pid})`);
    lock.release();
    expect(existsSync(join(dir, DATA_FOLDER_LOCK_FILE))).toBe(false);
    lockDataFolder(dir, 'gateway a/c').release();
  });

  it('refuses a folder another running process holds', async () => {
    const dir = folder();
    // Another process takes the folder and waits.
    const script = `import('${new URL('../dist/data-folder-lock.js', import.meta.url).href}').then((m) => { m.lockDataFolder(${JSON.stringify(dir)}, 'the demo site'); console.log('taken'); setInterval(() => {}, 1000); })`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('taken') && resolve());
        child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
      });
      expect(() => lockDataFolder(dir, 'gateway')).toThrow(`is in use by the demo site (process ${child.pid})`);
    } finally {
      child.kill('SIGKILL');
    }
    // Killed without releasing: its file is left, and the next taker takes the folder over.
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(join(dir, DATA_FOLDER_LOCK_FILE))).toBe(true);
    const lock = lockDataFolder(dir, 'gateway');
    expect(JSON.parse(readFileSync(join(dir, DATA_FOLDER_LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('takes over a file naming a pid now used by another process (a reboot), and a torn file', () => {
    const dir = folder();
    // Our parent runs, but started at another time than the file says.
    writeFileSync(join(dir, DATA_FOLDER_LOCK_FILE), JSON.stringify({ pid: process.ppid, started: '1', what: 'the demo site' }));
    lockDataFolder(dir, 'gateway').release();
    writeFileSync(join(dir, DATA_FOLDER_LOCK_FILE), '{"pid": 12');
    lockDataFolder(dir, 'gateway').release();
  });
});
