import { loadOrtLinalg, jsLinalg } from './numerics/backend.ts';
import { matrix, mirrorLower } from './numerics/matrix.ts';
import { Rng } from './numerics/rng.ts';
import { createHash } from 'node:crypto';
const ort = loadOrtLinalg()!;
const h = (a: Float64Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);
for (const n of [301, 1024, 1500]) {
  const X = matrix(n, 200); new Rng(n).fillNormal(X.data);
  const Y = matrix(n, n); new Rng(n + 1).fillNormal(Y.data);
  const A = mirrorLower(jsLinalg.gramLower(Y, 1 / n, 0)); for (let i = 0; i < n; i++) A.data[i * n + i] += 0.5;
  for (const t of [1, 2, 3, 4]) ort.withThreads(t, () => console.log(n, t, h(ort.inverseSPD(A).data), h(ort.multiply(A, A).data), h(ort.multiplyAtB(X, Y).data), h(ort.gramLower(X, 0.3, 0.1).data)));
}
