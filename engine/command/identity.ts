/**
 * What a command node's key holds besides params and inputs, read from files and never by running
 * the configured program:
 *   - the program: which executable runs (resolved real path; a pyenv shim is followed statically
 *     to the version it would pick), and the program file (a script named in argv);
 *   - the interpreter's identity: for Python, what it says its implementation and version are,
 *     probed once per (real path, size, mtime) during `run` and remembered in <cache>/probes/ so
 *     that plan/show reuse it; for anything else, the executable's content hash;
 *   - fingerprints of the program file, `deps` and discovered deps: a Python file by its
 *     `ast.dump(ast.parse(src))` (comments and whitespace do not count), computed by the stage's
 *     interpreter during `run` and cached by content sha256 in <cache>/pyast/; any other file by
 *     its sha256;
 *   - the deps list: what the last run of the same static key discovered (<cache>/deps/), else a
 *     static guess (the script's imports, parsed here). Hints only: digests always come from the
 *     files now, so a stale hint can cause a miss, never a wrong hit.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PipelineError, type Location } from '../errors.ts';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import type { CommandSpec } from './spec.ts';

/** The executable and script a command stage runs, resolved from its argv. */
export interface ResolvedProgram {
  /** What is executed (absolute, real path): the interpreter for a script. */
  exe: string;
  /** Arguments before the script (a shebang's argument, python's flags). */
  exeArgs: string[];
  /** The project file the program is (a script), project-relative; absent for a bare binary. */
  script?: string;
  /** Arguments after the script (or after argv[0] for a binary): templates with ${...}. */
  args: string[];
  /** The executable is a Python: its deps are fingerprinted by `ast` and its imports discovered. */
  python: boolean;
  shell: boolean;
}

const PY_NAME = /^(python|pypy)[\d.]*$/;

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Looks a bare name up on PATH, the way execvp would. */
export function lookPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * pyenv's shims are scripts that pick a version at each start (PYENV_VERSION, .python-version,
 * the global version file). Followed here statically, so that the key names the real interpreter
 * and a version switch changes it.
 */
export function followPyenvShim(p: string, root: string): string {
  const dir = dirname(p);
  if (basename(dir) !== 'shims') return p;
  const pyenvRoot = dirname(dir);
  if (!existsSync(join(pyenvRoot, 'versions'))) return p;
  let version = process.env.PYENV_VERSION?.split(':')[0];
  for (let d = root; !version; d = dirname(d)) {
    const f = join(d, '.python-version');
    if (existsSync(f)) version = readFileSync(f, 'utf8').split(/\s+/)[0];
    if (dirname(d) === d) break;
  }
  if (!version && existsSync(join(pyenvRoot, 'version'))) version = readFileSync(join(pyenvRoot, 'version'), 'utf8').split(/\s+/)[0];
  const name = basename(p);
  if (!version || version === 'system') {
    const pathWithout = (process.env.PATH ?? '').split(delimiter).filter((x) => resolve(x) !== dir).join(delimiter);
    return lookPath(name, pathWithout) ?? p;
  }
  const real = join(pyenvRoot, 'versions', version, 'bin', name);
  return isExecutable(real) ? real : p;
}

function inProject(root: string, abs: string): string | undefined {
  const r = relative(root, abs);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r.split(sep).join('/') : undefined;
}

/** `#!/usr/bin/env python3 -u` -> ['python3', '-u']; `#!/bin/sh -e` -> ['/bin/sh', '-e']. */
function shebang(file: string): string[] | undefined {
  let head: string;
  try {
    head = readFileSync(file).subarray(0, 256).toString('latin1');
  } catch {
    return undefined;
  }
  if (!head.startsWith('#!')) return undefined;
  const words = head.slice(2).split('\n')[0].trim().split(/\s+/).filter(Boolean);
  if (words[0] && basename(words[0]) === 'env') words.shift();
  if (words[0] === '-S') words.shift();
  return words.length ? words : undefined;
}

function resolveExe(name: string, root: string, at: Location, what: string): string {
  let p: string | undefined;
  if (name.includes('/')) {
    p = resolve(root, name);
    if (!existsSync(p)) throw new PipelineError(`${what} "${name}" does not exist`, at);
    if (!isExecutable(p)) throw new PipelineError(`${what} "${name}" is not executable (chmod +x it, or name its interpreter first: [python3, ${name}])`, at);
  } else {
    p = lookPath(name);
    if (!p) throw new PipelineError(`${what} "${name}" is not on PATH`, at);
  }
  return followPyenvShim(realpathSync(p), root);
}

/** Resolves argv[0] (and the script it names) without running anything. Errors name the config line. */
export function resolveProgram(spec: CommandSpec, root: string, at: Location): ResolvedProgram {
  if (spec.shell !== undefined) return { exe: '/bin/sh', exeArgs: ['-c', spec.shell], args: [], python: false, shell: true };
  const argv = spec.argv!;
  const first = argv[0];
  if (first.includes('${')) throw new PipelineError('the program (first entry of `command:`) cannot be a ${...} reference: it is resolved before any node runs', at);
  const firstAbs = first.includes('/') ? resolve(root, first) : undefined;
  const firstScript = firstAbs ? inProject(root, firstAbs) : undefined;
  if (firstAbs && firstScript) {
    // A project file as the program: a script run by its #! interpreter (resolved like argv[0]), or a binary.
    const bang = existsSync(firstAbs) ? shebang(firstAbs) : undefined;
    if (bang) {
      if (!isExecutable(firstAbs)) throw new PipelineError(`program "${first}" is not executable (chmod +x it, or name its interpreter first)`, at);
      const exe = resolveExe(bang[0], root, at, `the interpreter of ${first} (its #! line)`);
      return { exe, exeArgs: bang.slice(1), script: firstScript, args: argv.slice(1), python: PY_NAME.test(basename(exe)), shell: false };
    }
    const exe = resolveExe(first, root, at, 'program');
    return { exe, exeArgs: [], script: firstScript, args: argv.slice(1), python: false, shell: false };
  }
  const exe = resolveExe(first, root, at, 'program');
  const python = PY_NAME.test(basename(exe)) || PY_NAME.test(first);
  // The script: the first argument that is not a flag, when it is a project file.
  let i = 1;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '-m' && argv[i] !== '-c') i++;
  const cand = argv[i];
  if (cand !== undefined && !cand.includes('${') && argv[i - 1] !== '-m' && !['-m', '-c'].includes(cand)) {
    const abs = resolve(root, cand);
    const script = inProject(root, abs);
    if (script && existsSync(abs) && statSync(abs).isFile()) return { exe, exeArgs: argv.slice(1, i), script, args: argv.slice(i + 1), python, shell: false };
    if (python && cand.endsWith('.py')) throw new PipelineError(`script "${cand}" does not exist (paths in command: are relative to the project root)`, at);
  }
  return { exe, exeArgs: [], args: argv.slice(1), python, shell: false };
}

/** Minimal glob over project files: `*` and `?` within a segment, `**` any depth. Sorted, relative. */
export function globFiles(root: string, pattern: string): string[] {
  const segs = pattern.split('/').filter((s) => s !== '.');
  const out: string[] = [];
  const toRe = (s: string) => new RegExp(`^${s.replace(/[.+^$()|[\]{}\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const walk = (dir: string, rel: string, i: number) => {
    if (i === segs.length) {
      if (existsSync(dir) && statSync(dir).isFile()) out.push(rel);
      return;
    }
    const seg = segs[i];
    if (seg === '**') {
      walk(dir, rel, i + 1);
      for (const e of safeReaddir(dir)) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && e.name !== 'cache') walk(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, i);
      return;
    }
    if (!/[*?]/.test(seg)) {
      walk(join(dir, seg), rel ? `${rel}/${seg}` : seg, i + 1);
      return;
    }
    const re = toRe(seg);
    for (const e of safeReaddir(dir)) if (re.test(e.name)) walk(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, i + 1);
  };
  walk(root, '', 0);
  return [...new Set(out)].sort();
}

function safeReaddir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * The project modules a Python file imports, by reading its import statements (recursively): the
 * guess used before the first run. Resolved like CPython would from the script's folder
 * (sys.path[0]); imports that resolve to nothing in the project (numpy, os) are not deps.
 */
export function guessPythonImports(root: string, script: string): string[] {
  const base = dirname(join(root, script));
  const found = new Set<string>();
  const queue = [join(root, script)];
  const addModule = (dir: string, dotted: string) => {
    const parts = dotted.split('.').filter(Boolean);
    let d = dir;
    for (let k = 0; k < parts.length; k++) {
      const last = k === parts.length - 1;
      const pkgInit = join(d, parts[k], '__init__.py');
      if (existsSync(pkgInit)) queue.push(pkgInit);
      if (last && existsSync(join(d, `${parts[k]}.py`))) queue.push(join(d, `${parts[k]}.py`));
      d = join(d, parts[k]);
    }
  };
  while (queue.length) {
    const file = queue.pop()!;
    const rel = inProject(root, file);
    if (!rel || found.has(rel)) continue;
    found.add(rel);
    let src: string;
    try {
      src = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const here = dirname(file);
    for (const line of src.split('\n')) {
      let m = /^\s*from\s+(\.*)([\w.]*)\s+import\s+([^#]+)/.exec(line);
      if (m) {
        let dir = m[1] ? here : base;
        for (let k = 1; k < m[1].length; k++) dir = dirname(dir);
        const names = m[3].replace(/[()\\]/g, ' ').split(',').map((x) => x.trim().split(/\s+/)[0]).filter((x) => x && x !== '*');
        if (m[2]) addModule(dir, m[2]);
        for (const n of names) addModule(dir, m[2] ? `${m[2]}.${n}` : n);
        continue;
      }
      m = /^\s*import\s+([^#]+)/.exec(line);
      if (m) for (const part of m[1].split(',')) addModule(base, part.trim().split(/\s+/)[0]);
    }
  }
  found.delete(script);
  return [...found].sort();
}

/** Tiny JSON files in the cache folder, written atomically (a hint, never the truth). */
function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
function writeJson(file: string, v: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(v));
    renameSync(tmp, file);
  } catch {
    // A hint not written costs a probe or a miss later, never a wrong result.
  }
}

const PROBE = 'import os,sys,platform;print(os.path.realpath(sys.executable));print(platform.python_implementation());print(platform.python_version());print(sys.implementation.cache_tag)';
const AST = [
  'import ast,hashlib,json,sys',
  'out={}',
  'for p in json.load(sys.stdin):',
  '  try:',
  '    src=open(p,"rb").read()',
  '    out[p]=hashlib.sha256(ast.dump(ast.parse(src)).encode()).hexdigest()',
  '  except Exception as e:',
  '    out[p]=None',
  'json.dump(out,sys.stdout)',
].join('\n');

/** Reads files' key fingerprints and the interpreter's identity, with the caches described above. */
export class Fingerprints {
  private statMemo = new Map<string, { stat: string; fp: string }>();
  private astCache = new Map<string, Record<string, string>>();

  constructor(
    readonly root: string,
    readonly cacheDir: string,
    /** `run` may execute the stage's interpreter (probe, ast); plan/show/... never do. */
    readonly mayExecute: boolean,
  ) {}

  private statTag(abs: string): string | undefined {
    try {
      const st = statSync(abs);
      return `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return undefined;
    }
  }

  /**
   * The interpreter's identity as the key holds it. Python: "<real path> <implementation> <version>";
   * not yet probed (plan before any run): "<path> (not probed yet)", which differs from any probed one.
   */
  interpreter(exe: string, python: boolean): string {
    const tag = this.statTag(exe);
    const file = join(this.cacheDir, 'probes', `${sha256(`${exe}\0${tag}\0${python}`)}.json`);
    const known = readJson<{ identity: string }>(file);
    if (known) return known.identity;
    if (!python) {
      const identity = `${exe} sha256:${sha256(readFileSync(exe))}`;
      writeJson(file, { identity });
      return identity;
    }
    if (!this.mayExecute) return `${exe} (not probed yet: plan never runs a configured program)`;
    const r = spawnSync(exe, ['-I', '-c', PROBE], { encoding: 'utf8', timeout: 30_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    if (r.status !== 0) throw new PipelineError(`the interpreter ${exe} did not answer a version probe (exit ${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? '')).trim().split('\n').pop()}`);
    const [real, impl, version, tagName] = r.stdout.trim().split('\n');
    const identity = `${real} ${impl} ${version} ${tagName}`;
    writeJson(file, { identity });
    return identity;
  }

  /** Fingerprints of project files (relative paths). `pythonExe` fingerprints *.py files by `ast`. */
  files(rels: string[], python?: { exe: string; identity: string }): Record<string, string> {
    const out: Record<string, string> = {};
    const needAst: { rel: string; abs: string; sha: string; tag: string }[] = [];
    const astFile = python ? join(this.cacheDir, 'pyast', `${sha256(python.identity).slice(0, 24)}.json`) : '';
    let table = python ? this.astCache.get(astFile) : undefined;
    if (python && !table) this.astCache.set(astFile, (table = readJson<Record<string, string>>(astFile) ?? {}));
    for (const rel of rels) {
      const abs = join(this.root, rel);
      const tag = this.statTag(abs);
      if (!tag) {
        out[rel] = 'missing';
        continue;
      }
      const memo = this.statMemo.get(abs);
      if (memo && memo.stat === tag && (!python || !memo.fp.startsWith('source:'))) {
        out[rel] = memo.fp;
        continue;
      }
      const sha = sha256(readFileSync(abs));
      let fp: string;
      if (python && rel.endsWith('.py')) {
        const ast = table![sha];
        if (ast) fp = `ast:${ast}`;
        else {
          needAst.push({ rel, abs, sha, tag });
          continue;
        }
      } else fp = `sha256:${sha}`;
      out[rel] = fp;
      this.statMemo.set(abs, { stat: tag, fp });
    }
    if (needAst.length) {
      let computed: Record<string, string | null> = {};
      if (this.mayExecute) {
        const r = spawnSync(python!.exe, ['-I', '-c', AST], { input: JSON.stringify(needAst.map((n) => n.abs)), encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, maxBuffer: 64 << 20 });
        if (r.status === 0) computed = JSON.parse(r.stdout) as Record<string, string | null>;
      }
      let wrote = false;
      for (const n of needAst) {
        const ast = computed[n.abs];
        if (ast) {
          table![n.sha] = ast;
          wrote = true;
          out[n.rel] = `ast:${ast}`;
          this.statMemo.set(n.abs, { stat: n.tag, fp: out[n.rel] });
        } else {
          // Not parsed (plan never runs Python; or a syntax error): the content hash stands in,
          // which differs from any ast fingerprint, so the node is said to run ("code changed").
          out[n.rel] = `source:${n.sha}`;
        }
      }
      if (wrote) writeJson(astFile, table);
    }
    return out;
  }
}

/** Where the last run of a static key said its discovered deps are. */
export function depsLogFile(cacheDir: string, staticKey: string): string {
  return join(cacheDir, 'deps', staticKey.slice(0, 2), `${staticKey}.json`);
}
export function readDepsLog(cacheDir: string, staticKey: string): string[] | undefined {
  const v = readJson<{ deps: string[] }>(depsLogFile(cacheDir, staticKey));
  return Array.isArray(v?.deps) ? v.deps.filter((d) => typeof d === 'string' && !d.startsWith('/') && !d.split('/').includes('..')) : undefined;
}
export function writeDepsLog(cacheDir: string, staticKey: string, deps: string[]): void {
  writeJson(depsLogFile(cacheDir, staticKey), { deps: [...deps].sort() });
}

/** A command stage's static key material, computed once per config stage and run. */
export interface CommandIdentity {
  program: ResolvedProgram;
  /** The code part: hash of the script's and deps' fingerprints. */
  code: string;
  sources: Record<string, string>;
  /** Key parts named like env entries, so that `plan` says what changed: argv, interpreter, env.X. */
  env: Record<string, string>;
  interpreter: string;
  /** The static guess of discovered deps (a Python script's imports). */
  guess: string[];
}

export function commandIdentity(spec: CommandSpec, fps: Fingerprints, at: Location): CommandIdentity {
  const program = resolveProgram(spec, fps.root, at);
  const declared: string[] = [];
  for (const pattern of spec.deps) {
    const matched = globFiles(fps.root, pattern);
    if (!matched.length) throw new PipelineError(`deps pattern "${pattern}" matches no file of the project`, at);
    declared.push(...matched);
  }
  const interpreter = fps.interpreter(program.exe, program.python);
  const py = program.python ? { exe: program.exe, identity: interpreter } : undefined;
  const staticFiles = [...new Set([...(program.script ? [program.script] : []), ...declared])].sort();
  const sources = fps.files(staticFiles, py);
  const env: Record<string, string> = {
    command: canonicalJson(spec.shell !== undefined ? { shell: spec.shell } : { argv: spec.argv }),
    outputs: canonicalJson(spec.outputs),
    interpreter,
  };
  for (const [k, v] of Object.entries(spec.env)) env[`env.${k}`] = v;
  const guess = program.python && program.script ? guessPythonImports(fps.root, program.script).filter((f) => !staticFiles.includes(f)) : [];
  return { program, code: sha256(canonicalJson(sources)), sources, env, interpreter, guess };
}

/** What can be known before anything runs: the program resolves, each deps pattern matches. */
export function checkCommandStage(spec: CommandSpec, root: string, at: (k: string) => Location): void {
  resolveProgram(spec, root, at(spec.argv ? 'command' : 'shell'));
  for (const pattern of spec.deps) if (!globFiles(root, pattern).length) throw new PipelineError(`deps pattern "${pattern}" matches no file of the project`, at('deps'));
}
