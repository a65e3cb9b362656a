/** How the registry cuts a large artifact into parts (issue 16). Pure rules, no I/O. */
export interface MultipartSettings {
  /** Artifacts larger than this are offered in parts (and always those past 5 GiB). Default 64 MiB. */
  thresholdBytes: number;
  /** The smallest part size the registry chooses. Default 8 MiB; tests use tiny parts (S3 itself wants at least 5 MiB but the last). */
  minPartBytes: number;
}

export const DEFAULT_MULTIPART: MultipartSettings = { thresholdBytes: 64 * 1024 ** 2, minPartBytes: 8 * 1024 ** 2 };
/** S3's limits: parts per upload, and the largest single PUT. */
export const MAX_PARTS = 10_000;
export const SINGLE_PUT_MAX_BYTES = 5 * 1024 ** 3;
const MIB = 1024 ** 2;

/** Whether an artifact of this size is offered in parts. */
export function usesMultipart(sizeBytes: number, s: MultipartSettings): boolean {
  return sizeBytes > Math.min(s.thresholdBytes, SINGLE_PUT_MAX_BYTES);
}

/** The part size: the configured one, or more (whole MiB) when the artifact would need more than 10 000 parts. */
export function partSizeFor(sizeBytes: number, s: MultipartSettings): number {
  const needed = Math.ceil(sizeBytes / MAX_PARTS);
  return needed <= s.minPartBytes ? s.minPartBytes : Math.ceil(needed / MIB) * MIB;
}

export function partCount(sizeBytes: number, partSizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / partSizeBytes));
}

/** The bytes of part `n` (1-based): the part size, the last part the rest. */
export function partLength(sizeBytes: number, partSizeBytes: number, n: number): number {
  return Math.max(0, Math.min(partSizeBytes, sizeBytes - (n - 1) * partSizeBytes));
}

/** Part numbers as a client lists them: runs like "3, 5-9". */
export function describeParts(numbers: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    runs.push(i === j ? String(numbers[i]) : `${numbers[i]}-${numbers[j]}`);
    i = j + 1;
  }
  return runs.join(', ');
}
