/**
 * Watches input/ with chokidar and, because watchers drop events under bulk copies, also rescans it
 * periodically. Both only report paths; the stabilizer decides when a file is finished.
 * Ignored: dotfiles and names ending in .part, .tmp, .crdownload (write, then rename).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

const IGNORED_NAME = /(^\.|\.(part|tmp|crdownload)$)/i;

export function isIgnoredName(file: string): boolean {
  return IGNORED_NAME.test(path.basename(file));
}

export interface InputWatcher {
  /** Resolves once chokidar has read the folder. */
  ready: Promise<void>;
  rescan(): Promise<void>;
  close(): Promise<void>;
}

export function watchInput(
  inputDir: string,
  rescanIntervalMs: number,
  onPath: (file: string) => void,
  onError: (error: unknown) => void,
): InputWatcher {
  const watcher: FSWatcher = chokidar.watch(inputDir, {
    ignored: (file: string) => file !== inputDir && isIgnoredName(file),
    ignoreInitial: false,
    followSymlinks: false,
    awaitWriteFinish: false,
    persistent: true,
  });
  watcher.on('add', onPath);
  watcher.on('change', onPath);
  watcher.on('error', onError);
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  let scanning: Promise<void> | null = null;
  const rescan = () => {
    scanning ??= scan(inputDir, onPath)
      .catch(onError)
      .finally(() => (scanning = null));
    return scanning;
  };
  const timer = setInterval(() => void rescan(), rescanIntervalMs);
  timer.unref();

  return {
    ready,
    rescan,
    async close() {
      clearInterval(timer);
      await watcher.close();
      await scanning;
    },
  };
}

async function scan(dir: string, onPath: (file: string) => void): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await scan(full, onPath);
    else if (entry.isFile() || entry.isSymbolicLink()) onPath(full);
  }
}
