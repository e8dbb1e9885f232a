import { trainFcnOrt } from './stages/lib/fcn-ort.ts';
import { Rng } from './numerics/rng.ts';
const [N, d0, h] = (process.env.SHAPE ?? '1024,128,500').split(',').map(Number);
const E = Number(process.env.E ?? 100);
const rng = new Rng(3);
const X = Float32Array.from(rng.fillNormal(new Float64Array(N * d0)));
const y = new Float32Array(N).map((_, i) => (i < N / 2 ? -1 : 1));
const init = { W1: Float32Array.from(rng.fillNormal(new Float64Array(h * d0), 0, 1 / Math.sqrt(d0))), b1: new Float32Array(h), W2: Float32Array.from(rng.fillNormal(new Float64Array(h), 0, 1.97 / Math.sqrt(h))), b2: 0 };
const times: number[] = []; const cpus: number[] = [];
let t = 0; let c = process.cpuUsage();
trainFcnOrt({ X, y, N, d0, h, activation: 'erf', lr: 1e-3, epochs: E, weightDecay: 1e-6, momentum: 0, probeEvery: 100000, classSizes: [N / 2, N / 2], init,
  onEpoch: () => { const now = performance.now(); const d = process.cpuUsage(c); if (t) { times.push(now - t); cpus.push((d.user + d.system) / 1000); } t = now; c = process.cpuUsage(); } });
times.sort((a, b) => a - b); cpus.sort((a, b) => a - b);
console.log(`${N},${d0},${h} threads ${process.env.PIPELINE_ORT_THREADS ?? 1}: wall min ${times[0].toFixed(2)} med ${times[times.length >> 1].toFixed(2)}; cpu min ${cpus[0].toFixed(2)} med ${cpus[cpus.length >> 1].toFixed(2)}`);
