import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The file that marks a data folder as taken, holding who took it. */
export const DATA_FOLDER_LOCK_FILE = '.gatehouse.lock';

/** Refused: another process works in the folder. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
    readonly ownerWhat: string,
  ) {
    super(
      `data folder ${dir} is in use by ${ownerWhat} (process ${ownerPid}): two processes on one folder would corrupt its journal and database. ` +
        'Stop the other one, or give this one a folder of its own (--data-dir, or dataDir in its configuration).',
    );
    this.name = 'DataFolderInUseError';
  }
}

interface LockOwner {
  pid: number;
  /** the owner's start time as the kernel counts it, to tell it from a later process given the same pid */
  started: string | null;
  what: string;
}

export interface DataFolderLock {
  readonly dir: string;
  release(): void;
}

/**
 * Takes a data folder for this process, like PostgreSQL's postmaster.pid: a lock file created only if
 * absent, naming the process. A file left by a process that is gone (killed, power cut) is taken over;
 * one whose process runs is refused with DataFolderInUseError. Released on `release()` or at exit.
 */
export function lockDataFolder(dir: string, what: string): DataFolderLock {
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, DATA_FOLDER_LOCK_FILE);
  const me: LockOwner = { pid: process.pid, started: processStart(process.pid), what };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        // Only our own file: a folder taken over after we were presumed gone is not ours to free.
        if (readOwner(file)?.pid === process.pid) unlinkSync(file);
      };
      process.on('exit', release);
      return { dir: folder, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(file);
      if (owner && isRunning(owner)) throw new DataFolderInUseError(folder, owner.pid, owner.what);
      // Left behind by a process that is gone (or unreadable, torn by a crash while written).
      unlinkSync(file);
    }
  }
  throw new Error(`data folder ${folder}: could not take ${DATA_FOLDER_LOCK_FILE}`);
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return Number.isSafeInteger(owner.pid) ? { pid: owner.pid!, started: owner.started ?? null, what: owner.what ?? 'another process' } : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A pid reused after a reboot by an unrelated process: its start time differs.
  const started = processStart(owner.pid);
  return owner.started === null || started === null || started === owner.started;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) on Linux; null elsewhere. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
