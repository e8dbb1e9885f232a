import { defineStage, single } from '../engine/stage-api.ts';
import { jacobiEigen } from '../numerics/jacobi.ts';

export default defineStage({
  description: 'Eigenvalues of a stored symmetric matrix (e.g. the EoS Σ), largest first',
  light: true,
  params: { array: { type: 'string', doc: 'the matrix, e.g. Sigma.f64' } },
  inputs: { data: { doc: 'the node holding the matrix' } },
  run({ params: p, inputs }) {
    const a = single(inputs.data, 'data').array(p.array);
    const n = a.shape[0];
    // Symmetrise: Newton–Krylov leaves rounding-level asymmetry.
    const s = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (a.data[i * n + j] + a.data[j * n + i]);
    const values = Array.from(jacobiEigen(s, n).values).sort((x, y) => y - x);
    return { 'eigenvalues.json': values.map((v, k) => ({ index: k + 1, eigenvalue: v })) };
  },
});
