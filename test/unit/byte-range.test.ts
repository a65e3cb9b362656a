import { describe, expect, it } from 'vitest';
import { parseByteRange } from '../../src/artifacts/byte-range.js';

describe('Range: bytes=… against an object of 1000 bytes', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=900-', { start: 900, end: 999 }],
    ['bytes=900-5000', { start: 900, end: 999 }],
    ['bytes=-100', { start: 900, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=1000-', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    [undefined, null],
    ['bytes=0-1,5-9', null],
    ['items=0-1', null],
    ['bytes=9-1', null],
    ['bytes=-', null],
  ] as const)('%s', (header, expected) => {
    expect(parseByteRange(header, 1000)).toEqual(expected);
  });
});
