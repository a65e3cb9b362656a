import type { Lease } from '../../stores/registry.store.js';

/** What `ModelVersion.verification` shows of a PENDING_UPLOAD version's check. */
export interface UploadVerification {
  /** A completion holds the version's lease and is reading the files back now. */
  running: boolean;
  bytesVerified: number;
  bytesTotal: number;
  startedAt: Date | null;
  updatedAt: Date | null;
}

/** Reads the progress a running check keeps in its lease; a version without one is not being checked. */
export function verificationOf(bytesTotal: number, lease: Lease | null): UploadVerification {
  const d = lease?.details ?? null;
  if (d === null) return { running: false, bytesVerified: 0, bytesTotal, startedAt: null, updatedAt: null };
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  return {
    running: true,
    bytesVerified: typeof d.bytesVerified === 'number' ? Math.min(d.bytesVerified, bytesTotal) : 0,
    bytesTotal,
    startedAt: date(d.startedAt),
    updatedAt: date(d.updatedAt),
  };
}
