// Bundles a TypeScript entry (the CLI, the worker, each stage) with esbuild into a build folder,
// and reuses the bundle while every source it was built from has the same size and mtime.
//
// Plain JavaScript on purpose: it runs before anything is compiled. Reusing bundles keeps a
// no-op `pipeline run` near Node's own start-up time (a TS loader hook costs ~250 ms per start);
// esbuild's metafile also gives the exact local import closure, which is what a stage's code
// fingerprint hashes.
//
// The fingerprint hashes each own source as esbuild prints it back with whitespace minified:
// comments, indentation and type annotations are gone, identifiers and strings stay. A comment in
// engine/stage-api.ts must not rerun every EoS solve. The normaliser's version is in the manifest,
// so a new esbuild re-derives the hashes (it only runs when a bundle is rebuilt).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

const MANIFEST_VERSION = 5;

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function statSig(path) {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function writeAtomic(path, data) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * @param {string} entry absolute path of the .ts entry
 * @param {{ buildDir: string, root: string, bundlePackages?: boolean }} opts root: paths in the
 *   fingerprint are relative to it; bundlePackages: inline dependencies too (one file loads faster
 *   than dozens of resolved modules; used for the CLI, not for stages, whose packages are env)
 * @returns {Promise<{ file: string, fingerprint: string, sources: Record<string, string>, packages: string[] }>}
 */
export async function ensureBundle(entry, opts) {
  const entryAbs = resolve(entry);
  const tag = sha256(`${entryAbs}:${opts.bundlePackages ? 'all' : 'own'}`).slice(0, 12);
  const base = entryAbs.split(sep).pop().replace(/\.[cm]?[jt]s$/, '');
  mkdirSync(opts.buildDir, { recursive: true });
  const manifestPath = join(opts.buildDir, `${base}-${tag}.json`);
  const outFile = join(opts.buildDir, `${base}-${tag}.mjs`);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    manifest = undefined;
  }
  const fresh =
    manifest &&
    manifest.version === MANIFEST_VERSION &&
    manifest.normaliserSig === statSig(esbuildPackageJson()) &&
    manifest.root === opts.root &&
    statSig(outFile) === manifest.outSig &&
    manifest.inputs.every((i) => statSig(i.path) === i.sig);
  if (fresh) return describe(manifest, outFile);

  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entryAbs],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: opts.bundlePackages ? undefined : 'external',
    external: opts.bundlePackages ? ['esbuild'] : undefined,
    // Bundled CommonJS packages call require(); give the ES module one.
    banner: opts.bundlePackages ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } : undefined,
    metafile: true,
    // Stage bundles carry an inline source map: a failing stage's stack names the user's .ts file
    // and line (the worker turns source maps on). Not the CLI: a larger bundle costs every start.
    sourcemap: opts.bundlePackages ? false : 'inline',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
    outfile: outFile,
  });
  // Digests of the last build of this bundle, for the sources unchanged since (same normaliser).
  const previous = new Map(
    manifest?.version === MANIFEST_VERSION && manifest.normaliserSig === statSig(esbuildPackageJson()) ? manifest.inputs.map((i) => [`${i.path}\0${i.sig}`, i]) : [],
  );
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs).map(async (p) => {
      const abs = resolve(p);
      const rel = relative(opts.root, abs).split(sep).join('/');
      const sig = statSig(abs);
      const known = previous.get(`${abs}\0${sig}`) ?? (await sourceDigest(esbuild, abs, sig, isOwnSource(rel)));
      return { path: abs, rel, sig, sha256: known.sha256, ...(known.registers?.length ? { registers: known.registers } : {}) };
    }),
  );
  const packages = new Set();
  for (const out of Object.values(result.metafile.outputs)) {
    for (const imp of out.imports) {
      if (!imp.external || imp.path.startsWith('node:')) continue;
      const parts = imp.path.split('/');
      packages.add(imp.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeAtomic(outFile, result.outputFiles[0].contents);
  manifest = { version: MANIFEST_VERSION, normaliser: `esbuild ${esbuild.version}`, normaliserSig: statSig(esbuildPackageJson()), root: opts.root, entry: entryAbs, outSig: statSig(outFile), inputs, packages: [...packages].sort() };
  writeAtomic(manifestPath, JSON.stringify(manifest, null, 1));
  return describe(manifest, outFile);
}

const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx', '.json': 'json' };

function isOwnSource(rel) {
  return !rel.includes('node_modules/');
}

let esbuildManifest;
/** esbuild's package.json: a manifest made by another esbuild (the normaliser) is rebuilt. A stat, not an import: no cost to a no-op run. */
function esbuildPackageJson() {
  esbuildManifest ??= createRequire(import.meta.url).resolve('esbuild/package.json');
  return esbuildManifest;
}

/** path + stat signature -> { sha256, registers }, for sources shared by the bundles built in one process. */
const digests = new Map();

/**
 * A source's digest, and the names under which its code registers key facts
 * (registerKeyFacts('name', ...) in stage-api.ts): the engine checks the stage captured them.
 * Packages are not part of the fingerprint (their versions are env): their raw bytes suffice.
 */
async function sourceDigest(esbuild, abs, sig, own) {
  const known = `${abs}\0${sig}`;
  let digest = digests.get(known);
  if (digest === undefined) {
    const bytes = readFileSync(abs);
    const code = own ? await normalisedSource(esbuild, abs, bytes) : bytes;
    const registers = own && typeof code === 'string' ? [...code.matchAll(/\bregisterKeyFacts\(\s*(['"`])([^'"`]+)\1/g)].map((m) => m[2]) : [];
    digest = { sha256: sha256(code), registers };
    digests.set(known, digest);
  }
  return digest;
}

/**
 * The source as the fingerprint sees it: printed back by esbuild without comments and with
 * minimal whitespace (identifiers, strings and the order of statements unchanged). Files esbuild
 * cannot parse as code are hashed as they are.
 */
async function normalisedSource(esbuild, file, bytes) {
  const loader = LOADERS[file.slice(file.lastIndexOf('.'))];
  if (!loader) return bytes;
  try {
    const out = await esbuild.transform(bytes.toString('utf8'), { loader, minifyWhitespace: true, legalComments: 'none', charset: 'utf8', format: loader === 'json' ? undefined : 'esm', target: 'esnext' });
    return out.code;
  } catch {
    return bytes;
  }
}

function describe(manifest, outFile) {
  const sources = {};
  // Bundled packages are checked for freshness, but are not part of the code fingerprint.
  const own = manifest.inputs.filter((i) => isOwnSource(i.rel));
  const registers = {};
  for (const i of own.sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    sources[i.rel] = i.sha256;
    if (i.registers) registers[i.rel] = i.registers;
  }
  const fingerprint = sha256(JSON.stringify(sources));
  return { file: outFile, fingerprint, sources, packages: manifest.packages, keyFactRegistrations: registers };
}
