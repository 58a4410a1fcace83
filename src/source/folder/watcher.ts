/**
 * Watches input/ and its subfolders with `fs.watch` (one inotify watch per folder) and, because
 * watchers can drop events (bulk copies, network filesystems, a full inotify table), also rescans
 * the tree periodically. Both only report paths; the stabilizer decides when a file is finished.
 * Ignored: dotfiles and names ending in .part, .tmp, .crdownload (write, then rename).
 *
 * Not chokidar: on every event in a folder it re-reads the folder and lstat's every entry
 * (chokidar#1109), so dropping n files costs O(n²) stats (BENCHMARKS.md has the measurement). Here
 * an event costs at most one lstat of the path it names.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

const IGNORED_NAME = /(^\.|\.(part|tmp|crdownload)$)/i;

export function isIgnoredName(file: string): boolean {
  return IGNORED_NAME.test(path.basename(file));
}

export interface InputWatcher {
  /** Resolves once the folders are watched. */
  ready: Promise<void>;
  /** Walks the whole tree now: reports every file, watches every folder. */
  rescan(): Promise<void>;
  close(): Promise<void>;
  /** When the last full rescan ended (ms since the epoch; 0 before the first), and whether it runs. */
  health(): { lastRescanAt: number; closed: boolean };
}

export function watchInput(
  inputDir: string,
  rescanIntervalMs: number,
  /** `renamed`: the path appeared by a rename of a temporary name in the same folder (complete). */
  onPath: (file: string, renamed?: boolean) => void,
  onError: (error: unknown) => void,
): InputWatcher {
  /** Watched folders, with the inode watched: a folder removed and made again is watched anew. */
  const watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
  let closed = false;

  const unwatch = (dir: string) => {
    for (const [watched, { watcher }] of watchers) {
      if (watched === dir || watched.startsWith(dir + path.sep)) {
        watcher.close();
        watchers.delete(watched);
      }
    }
  };

  /**
   * `renewed`: the folder's entry was just reported as (re)made, so it is watched anew even with the
   * same inode — a folder removed and made again at once often gets its old inode number back.
   */
  const watchDir = (dir: string, ino: number, renewed = false) => {
    const current = watchers.get(dir);
    if (closed || (current?.ino === ino && !renewed)) return;
    if (current) unwatch(dir);
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (event, name) => onEvent(dir, event, name));
    } catch (error) {
      if (!isGone(error)) onError(error);
      return;
    }
    // E.g. the inotify limit or the folder vanishing: stop trusting this watch; rescans still run.
    watcher.on('error', (error) => {
      unwatch(dir);
      if (!isGone(error)) onError(error);
    });
    watchers.set(dir, { watcher, ino });
  };

  /**
   * A producer that writes `x.csv.part` and renames it to `x.csv` in the same folder makes inotify
   * report the move's two halves back to back (IN_MOVED_FROM, IN_MOVED_TO: fs.watch says "rename"
   * for each). The temporary name gone, then at once a new name: that file is complete.
   */
  let events = 0;
  const tempGone = new Map<string, number>();
  const onEvent = (dir: string, event: string, name: string | null) => {
    if (closed) return;
    const seq = ++events;
    if (!name) {
      void rescan(); // the OS did not say which entry changed: look at all of them
      return;
    }
    const full = path.join(dir, name);
    if (isIgnoredName(full)) {
      if (event === 'rename' && !lstatSync(full, { throwIfNoEntry: false })) tempGone.set(dir, seq);
      return;
    }
    // "change": an entry's content changed, so it is a file being written; "rename": something
    // appeared or went — find out what.
    if (event === 'change') onPath(full);
    else {
      const renamed = tempGone.get(dir) === seq - 1;
      tempGone.delete(dir);
      void look(full, true, renamed).catch(onError);
    }
  };

  const look = async (full: string, renewed = false, renamed = false) => {
    let stat;
    try {
      // Synchronous (lib/fs-now.ts), and no error made for a path that is gone: every file loadbay
      // archives leaves input/ with an event that lands here.
      stat = lstatSync(full, { throwIfNoEntry: false });
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    if (!stat) {
      unwatch(full); // gone; if it was a folder, so are its watches
      return;
    }
    if (stat.isDirectory()) await scan(full, stat.ino, renewed);
    else if (stat.isFile() || stat.isSymbolicLink()) onPath(full, renamed);
  };

  /** Watches the folder first, then lists it: a file arriving in between is seen by one or the other. */
  const scan = async (dir: string, ino: number, renewed = false): Promise<void> => {
    watchDir(dir, ino, renewed);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (closed) return;
      if (isIgnoredName(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await look(full);
      else if (entry.isFile() || entry.isSymbolicLink()) onPath(full);
    }
  };

  let scanning: Promise<void> | null = null;
  let lastRescanAt = 0;
  const rescan = () => {
    scanning ??= lstat(inputDir)
      .then((stat) => scan(inputDir, stat.ino))
      .catch((error: unknown) => {
        if (!isGone(error)) onError(error);
      })
      .finally(() => {
        scanning = null;
        lastRescanAt = Date.now();
      });
    return scanning;
  };
  const ready = lstat(inputDir).then(
    (stat) => watchDir(inputDir, stat.ino),
    (error: unknown) => onError(error),
  );
  const timer = setInterval(() => void rescan(), rescanIntervalMs);
  timer.unref();

  return {
    ready,
    rescan,
    health: () => ({ lastRescanAt, closed }),
    async close() {
      closed = true;
      clearInterval(timer);
      await scanning;
      for (const { watcher } of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
