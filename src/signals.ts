/**
 * The one place that handles signals. The first SIGINT/SIGTERM starts a graceful stop (no new files,
 * files in progress finish or roll back); a second one exits at once — a rolled-back file is simply
 * processed again at the next start. SIGHUP reloads the dataset files.
 */
export function handleSignals(
  onFirst: (signal: NodeJS.Signals) => void,
  warn: (message: string) => void,
  /** SIGHUP: read the dataset files again. */
  onReload: () => void = () => undefined,
): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      warn(`${signal}: stopping after the files in progress (send it again to stop at once)`);
      onFirst(signal);
    } else {
      warn(`${signal} again: exiting now; unfinished files stay in input/ and are processed at the next start`);
      process.exit(130);
    }
  };
  const reload = () => onReload();
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', reload);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
    process.removeListener('SIGHUP', reload);
  };
}
