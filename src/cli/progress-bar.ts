import cliProgress from 'cli-progress';
import type { ProgressListener } from '../client/index.js';
import { bytes } from './output.js';

/**
 * A progress bar on stderr for uploads and downloads (bytes, rate, ETA), only when stderr is a
 * terminal and the output is not --json; otherwise nothing (a pipe or a log gets no bar).
 */
export function progressBar(json: boolean): { listener: ProgressListener | undefined; stop(): void } {
  if (json || !process.stderr.isTTY) return { listener: undefined, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let started = 0;
  let value = 0;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  const listener: ProgressListener = (e) => {
    if (e.bytes === undefined) {
      stop();
      if (e.totalBytes === null || e.phase === 'complete') {
        process.stderr.write(e.phase === 'complete' ? 'checking the uploaded files…\n' : `hashing ${e.files} file(s)…\n`);
        return;
      }
      started = Date.now();
      value = 0;
      bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: `${e.phase === 'upload' ? 'upload  ' : 'download'} [{bar}] {percentage}% | {done} / {all} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(e.totalBytes, 0, { done: bytes(0), all: bytes(e.totalBytes), rate: bytes(0) });
      return;
    }
    if (!bar || e.phase === 'hash') return;
    value += e.bytes;
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    bar.update(value, { done: bytes(value), rate: bytes(value / seconds) });
  };
  return { listener, stop };
}
