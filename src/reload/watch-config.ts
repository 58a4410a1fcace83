/**
 * Watches loadbay.yaml and the datasets folder (or the folder of the datasets glob) and calls
 * `onChange` once they have been quiet for a moment: an editor's save, or a dataset file copied in,
 * is one reload. Folders are watched, not files, so a save by rename (most editors) is seen too;
 * only the configuration file and dataset files count, never an editor's swap or lock files.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { datasetsFolder } from '../config/load.js';
import type { Config } from '../config/types.js';

/** How long the files must be quiet before a reload: one save often is several events. */
export const CONFIG_QUIET_MS = 300;

export interface ConfigWatch {
  /** Watch the paths of this configuration (after a reload changed `datasets:`). */
  follow(config: Config): void;
  close(): void;
}

export function watchConfig(config: Config, onChange: () => void, onError: (message: string) => void): ConfigWatch {
  let watchers: FSWatcher[] = [];
  let watched = '';
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const changed = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, CONFIG_QUIET_MS);
  };

  const follow = (next: Config) => {
    const configDir = path.dirname(next.configFile);
    const configName = path.basename(next.configFile);
    const datasets = datasetsFolder(next.datasetsLocation);
    const key = JSON.stringify([next.configFile, next.datasetsLocation]);
    if (closed || key === watched) return;
    for (const w of watchers) w.close();
    watchers = [];
    watched = key;
    const folders = new Map<string, (name: string) => boolean>();
    const add = (dir: string, counts: (name: string) => boolean) => {
      const earlier = folders.get(dir);
      folders.set(dir, earlier ? (name) => earlier(name) || counts(name) : counts);
    };
    add(configDir, (name) => name === configName);
    add(datasets.dir, (name) => datasets.accepts(path.join(datasets.dir, name)));
    for (const [dir, counts] of folders) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || counts(name.toString())) changed();
        });
        watcher.on('error', (error) => {
          onError(`watching ${dir} for dataset changes stopped: ${error.message} (SIGHUP or \`loadbay reload\` still reload)`);
          watcher.close();
        });
        watchers.push(watcher);
      } catch (error) {
        onError(`cannot watch ${dir} for dataset changes: ${(error as Error).message} (SIGHUP or \`loadbay reload\` still reload)`);
      }
    }
  };

  follow(config);
  return {
    follow,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
    },
  };
}
