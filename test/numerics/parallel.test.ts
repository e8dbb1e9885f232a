/**
 * The TypeScript backend's O(n³) loops split over helper threads: every count of threads must
 * give the same bits (the count depends on what else runs, and is in no node key).
 */
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { borrowCores, returnCores } from '../../engine/core-tokens.ts';
import { gramLower, multiplyABt } from '../../numerics/gram.ts';
import { inverseSPD } from '../../numerics/linalg.ts';
import { matrix, mirrorLower, type Matrix } from '../../numerics/matrix.ts';
import { startHelper, withTeam, withThreads } from '../../numerics/parallel.ts';
import { productLowerRows } from '../../numerics/row-kernels.ts';
import { Rng } from '../../numerics/rng.ts';

const digest = (m: Matrix) => createHash('sha256').update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)).digest('hex');
const random = (r: number, c: number, seed: number): Matrix => {
  const m = matrix(r, c);
  new Rng(seed).fillNormal(m.data);
  return m;
};

// 419 = 4·104 + 3: whole row blocks and leftovers, and big enough that every phase splits
// (Cholesky splits a panel from 4 (n − j0) j0 >= 2^17 multiply-adds on).
const N = 419;
const spd = mirrorLower(gramLower(random(N, N, 1), 1 / N, 0));
for (let i = 0; i < N; i++) spd.data[i * N + i] += 0.1;
const X = random(N, 37, 2);
const B = random(99, 37, 3);
const upper = random(N, N, 4);
for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) upper.data[i * N + j] = 0;

const products = {
  inverseSPD: () => inverseSPD(spd),
  gramLower: () => gramLower(X, 0.3, 0.1),
  'gramLower of an upper-triangular matrix': () => gramLower(upper, 1, 0, true),
  multiplyABt: () => multiplyABt(X, B),
};

for (const [name, f] of Object.entries(products)) {
  test(`${name}: 1, 2 and 3 threads give the same bits`, () => {
    const one = withThreads(1, f);
    assert.not.ok(one.data.buffer instanceof SharedArrayBuffer);
    for (const n of [2, 3]) {
      const many = withThreads(n, f);
      assert.not.ok(many.data.buffer instanceof SharedArrayBuffer, 'results leave shared memory');
      assert.is(digest(many), digest(one), `${n} threads`);
    }
  });
}

test('the inverse is right on many threads too', () => {
  const inv = withThreads(2, () => inverseSPD(spd));
  const I = multiplyABt(spd, inv);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) assert.ok(Math.abs(I.data[i * N + j] - (i === j ? 1 : 0)) < 1e-10);
  assert.throws(() => withThreads(2, () => inverseSPD(matrix(2, 2, Float64Array.from([1, 2, 2, 1])))), /not symmetric positive definite/);
});

test('a kernel that fails throws once, and the team works afterwards', () => {
  withThreads(2, () =>
    withTeam(Infinity, (team) => {
      assert.is(team.size, 2);
      assert.throws(() => team.run(productLowerRows, [new Float64Array(16), new Float64Array(16), new Float64Array(16), 4, 4, 1, 0, false]), /not in shared memory/);
      assert.throws(() => team.run(productLowerRows, [null, null, team.alloc(16), 4, 4, 1, 0, false]));
      const x = team.alloc(16).fill(1);
      const k = team.alloc(64);
      team.run(productLowerRows, [x, x, k, 8, 2, 1, 0, false]);
      assert.is(k[7 * 8 + 4], 2, 'a row block of the helper');
    }),
  );
});

test('a helper that does not start is noticed, not waited for forever', () => {
  const t = performance.now();
  assert.is(startHelper('this is not JavaScript (', 300), undefined);
  assert.ok(performance.now() - t < 5000);
  assert.ok(startHelper(), 'the real source starts');
});

test('idle cores are lent once and come back', () => {
  const first = borrowCores(64);
  assert.is(borrowCores(64), 0, 'nothing left to lend');
  returnCores(first);
  assert.is(borrowCores(64), first);
  returnCores(first);
});

test.run();
