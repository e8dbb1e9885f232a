/**
 * This machine's memory as the bound on sizes a stage can hold (an N x N float64 matrix at
 * N = 10^12 cannot exist). Stages import this module for their param bounds, so it imports
 * nothing of the engine: it is part of their code fingerprint, and engine limits can change
 * without rerunning them.
 */
import { totalmem } from 'node:os';

/** Physical memory of this machine, the hard ceiling on any array a stage can allocate. */
export function memoryBytes(): number {
  return totalmem();
}

/** Largest n for which one n x n float64 matrix fits in this machine's memory (56,209 at 23.5 GiB). */
export function maxSquareSide(): number {
  return Math.floor(Math.sqrt(memoryBytes() / 8));
}

/** Largest number of float64 values that fit in this machine's memory. */
export function maxFloat64Values(): number {
  return Math.floor(memoryBytes() / 8);
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${n < 10 ? n.toFixed(1) : n.toPrecision(4).replace(/\.0+$|(\.\d*?)0+$/, '$1')} ${units[u]}`;
}

/** Why a square-matrix side is bounded, for ParamSpec.maxReason. */
export function squareMatrixReason(what: string): string {
  return `${what} of float64 must fit in this machine's ${formatBytes(memoryBytes())} of memory: ${maxSquareSide().toLocaleString('en')}^2 x 8 bytes is the most`;
}
