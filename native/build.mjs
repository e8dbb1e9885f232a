// Builds the OpenBLAS addon (build/Release/linalg.node) at `npm install` when OpenBLAS is present.
// A failed or skipped build is not a failed install: numerics/ falls back to ONNX Runtime
// (onnxruntime-node, a dependency with CPU binaries in its npm package), else pure TypeScript.
// The install says which backends linear algebra and training will use.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m) => console.log(`pipeline: ${m}`);
// onnxruntime-node is installed before the root package's install script runs.
const ortBinary = join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
const ort = existsSync(ortBinary) && process.env.PIPELINE_ORT !== 'off';
const fallback = ort ? 'ONNX Runtime (onnxruntime-node)' : 'the pure-TypeScript code';
const hint = `linear algebra runs on ${fallback}, training on ${ort ? 'ONNX Runtime' : 'TensorFlow.js'}; everything works; OpenBLAS (apt-get install libopenblas-dev, then npm run build:native) is an option for float64 linear algebra`;

if (process.env.PIPELINE_SKIP_NATIVE) {
  say(`PIPELINE_SKIP_NATIVE is set: not building the OpenBLAS addon; ${hint}`);
  process.exit(0);
}
const libs = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/local/lib/libopenblas.so'];
const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
if (!libs.some(existsSync) || !headers.some(existsSync)) {
  say(`OpenBLAS not found (libopenblas-dev): ${hint}`);
  process.exit(0);
}
// node-gyp: npm's own copy (npm sets npm_config_node_gyp for scripts), else the one beside node.
const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
const gyp = candidates.find((p) => p && existsSync(p));
if (!gyp) {
  say(`node-gyp not found: not building the OpenBLAS addon; ${hint}`);
  process.exit(0);
}
// Headers of the running Node (this machine cannot download them): its install prefix.
const nodedir = dirname(dirname(process.execPath));
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  say(`building the OpenBLAS addon failed; ${hint}\n${(r.stderr || r.stdout).split('\n').slice(-15).join('\n')}`);
  process.exit(0);
}
say(`built the OpenBLAS addon (build/Release/linalg.node): linear algebra runs on OpenBLAS (PIPELINE_LINALG=ort|js for the others), training on ${ort ? 'ONNX Runtime' : 'TensorFlow.js'}`);
