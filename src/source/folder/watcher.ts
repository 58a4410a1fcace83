/**
 * Watches input/ and its subfolders with `fs.watch` (one inotify watch per folder) and, because
 * watchers can drop events (bulk copies, network filesystems, a full inotify table), also rescans
 * the tree periodically. Both only report paths; the stabilizer decides when a file is finished.
 * Ignored: dotfiles and names ending in .part, .tmp, .crdownload (write, then rename).
 *
 * Not chokidar: on every event in a folder it re-reads the folder and lstat's every entry
 * (chokidar#1109), so dropping n files costs O(n²) stats (BENCHMARKS.md has the measurement). Here
 * an event costs at most one lstat of the path it names.
 *
 * However many files input/ holds, only as many paths are handed on as the daemon has room for
 * (`room()`), and a scan stops when there is none; what was left is found by a rescan once there is
 * room again, so the daemon's memory does not grow with input/. A folder is listed in name order
 * (readdir sorts), so files waiting together are taken in that order.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { specialKind, type SpecialFiles } from './special.js';

const IGNORED_NAME = /(^\.|\.(part|tmp|crdownload)$)/i;
/** How often a missing input/ is looked for: an lstat a second costs nothing, and files dropped into it once it is back should not wait for a rescan. */
const INPUT_POLL_MS = 1000;
/** How often a watcher that had no room looks whether there is again. */
const ROOM_POLL_MS = 250;
/** A rescan that takes up what was left is a walk of input/: not before half the places are free. */
const REFILL_SHARE = 0.5;

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

export interface WatchOptions {
  rescanIntervalMs: number;
  /**
   * A file (or a symbolic link) that appeared or changed; `renamed`: it appeared by a rename of a
   * temporary name in the same folder (complete).
   */
  onPath: (file: string, renamed?: boolean) => void;
  onError: (error: unknown) => void;
  /** FIFOs, sockets, devices: reported there, never passed to `onPath`. */
  specials: SpecialFiles;
  /** input/ itself went away (false) or is back (true), e.g. deleted and made again. */
  onInput: (present: boolean) => void;
  /** How many more paths the daemon takes now; while none, none is reported (and none is lost). */
  room: () => number;
}

export function watchInput(inputDir: string, options: WatchOptions): InputWatcher {
  const { rescanIntervalMs, onError, specials, onInput, room } = options;
  /** Paths were left unreported for want of room: a rescan finds them once there is room. */
  let starved = false;
  /** The most room seen: the daemon's places when none is taken. */
  let capacity = 0;
  const free = () => {
    const places = room();
    capacity = Math.max(capacity, places);
    return places;
  };
  const onPath = (file: string, renamed?: boolean) => {
    if (free() > 0) options.onPath(file, renamed);
    else starved = true;
  };
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
    // A watched folder that is itself removed reports its own name, and its watch is dead; made again
    // at once, it often has its old inode back, so nothing else would tell: look at it anew (an
    // entry of the same name inside it is looked at below as well).
    if (event === 'rename' && name === path.basename(dir)) void look(dir, true).catch(onError);
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

  /** Reports what is at `full` (a folder: watched and scanned); false when a scan stopped early. */
  const look = async (full: string, renewed = false, renamed = false): Promise<boolean> => {
    let stat;
    try {
      // Synchronous (lib/fs-now.ts), and no error made for a path that is gone: every file loadbay
      // archives leaves input/ with an event that lands here.
      stat = lstatSync(full, { throwIfNoEntry: false });
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    if (!stat || (full === inputDir && !stat.isDirectory())) {
      unwatch(full); // gone; if it was a folder, so are its watches (and what it held)
      specials.gone(full);
      if (full === inputDir) inputGone();
      return true;
    }
    if (stat.isDirectory()) return scan(full, stat.ino, renewed);
    if (stat.isFile() || stat.isSymbolicLink()) onPath(full, renamed);
    else reportSpecial(full, stat);
    return true;
  };

  const reportSpecial = (full: string, entry: Parameters<typeof specialKind>[0]) => {
    const kind = specialKind(entry);
    if (kind) specials.found(full, kind);
  };

  /**
   * Watches the folder first, then lists it: a file arriving in between is seen by one or the other.
   * Returns false when it stopped for want of room (or a stop) before the end.
   */
  const scan = async (dir: string, ino: number, renewed = false): Promise<boolean> => {
    watchDir(dir, ino, renewed);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isGone(error)) return true;
      throw error;
    }
    for (const entry of entries) {
      if (closed) return false;
      if (isIgnoredName(entry.name)) continue;
      if (free() <= 0) {
        starved = true;
        return false;
      }
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(await look(full))) return false;
      } else if (entry.isFile() || entry.isSymbolicLink()) onPath(full);
      else reportSpecial(full, entry);
    }
    return true;
  };

  /** While input/ is missing: looked for every INPUT_POLL_MS, and taken up again at once. */
  let polling: NodeJS.Timeout | null = null;
  const inputGone = () => {
    if (closed || polling) return;
    unwatch(inputDir);
    onInput(false);
    polling = setInterval(() => {
      let stat;
      try {
        stat = lstatSync(inputDir, { throwIfNoEntry: false });
      } catch {
        return;
      }
      if (!stat?.isDirectory() || !polling) return;
      clearInterval(polling);
      polling = null;
      onInput(true);
      void rescan();
    }, INPUT_POLL_MS);
    polling.unref();
  };

  let scanning: Promise<void> | null = null;
  let lastRescanAt = 0;
  const rescan = (): Promise<void> => {
    if (scanning) return scanning;
    specials.beginScan();
    starved = false;
    scanning = lstat(inputDir)
      .then(async (stat) => {
        if (!stat.isDirectory()) return inputGone();
        // Only after a complete walk: what it did not see is gone.
        if (await scan(inputDir, stat.ino)) specials.endScan();
      })
      .catch((error: unknown) => {
        if (isGone(error)) inputGone();
        else onError(error);
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
  const roomPoll = setInterval(() => {
    if (starved && !scanning && free() >= capacity * REFILL_SHARE) void rescan();
  }, ROOM_POLL_MS);
  roomPoll.unref();

  return {
    ready,
    rescan,
    health: () => ({ lastRescanAt, closed }),
    async close() {
      closed = true;
      clearInterval(timer);
      clearInterval(roomPoll);
      if (polling) clearInterval(polling);
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
