/**
 * Progress of a push or a pull, for progress bars: a phase starts with its totals, then reports
 * bytes as they move (negative when a retried file starts again).
 */
export type ProgressEvent =
  | { phase: 'hash' | 'upload' | 'complete' | 'download'; totalBytes: number | null; files: number; bytes?: undefined }
  | { phase: 'hash' | 'upload' | 'download'; bytes: number; totalBytes?: undefined };

export type ProgressListener = (event: ProgressEvent) => void;
