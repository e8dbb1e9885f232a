/**
 * Runs one command node safely, in this process (no worker thread: the program is a child process):
 *   - a fresh scratch folder per attempt beside the staging folder: inputs/, out/, tmp/, params.json;
 *   - inputs staged read-only (hard links, or copies when running as root, whom file modes do not
 *     stop; `copy_inputs` ports get writable copies); after the run the staged files are compared
 *     with what was staged, so a write into one fails the node naming the input;
 *   - a scrubbed environment (an allowlist, the declared env, PIPELINE_*, thread counts) and a
 *     pinned PATH: the interpreter's folder, then /usr/local/bin:/usr/bin:/bin;
 *   - its own process group (detached spawn). A timeout, Ctrl-C, SIGTERM or the driver's exit end
 *     the whole group (SIGTERM, then SIGKILL after a grace); a `kill -9` of the driver is covered by
 *     a watchdog (watchdog.ts) that notices its pipe's end. A group still alive after the program
 *     exits (a background child) is killed too;
 *   - stdout/stderr captured to size-capped files; `::progress <fraction> [note]` lines on stdout
 *     report progress;
 *   - declared outputs moved into the staging folder only after exit 0, then hashed; a missing one
 *     lists what the program wrote.
 * For a Python script, a tiny wrapper (python -c) runs it with runpy and, at exit, writes the
 * project files among sys.modules: the node's discovered deps (meta-design §1).
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { sha256 } from '../keys/hash.ts';
import type { Job, JobResult } from '../executors/job.ts';
import type { InputRef, OutputFile } from '../store/outputs.ts';
import { Fingerprints, type ResolvedProgram } from './identity.ts';
import { BUILTIN_REFS, REF, type CommandSpec } from './spec.ts';
import { trackGroup, untrackGroup } from './watchdog.ts';

/** What a job carries to run a command node (serialisable: a Slurm job file holds it). */
export interface CommandJob {
  spec: CommandSpec;
  program: ResolvedProgram;
  /** The interpreter identity the key holds: fingerprints of discovered deps use the same. */
  interpreter: string;
  cacheDir: string;
  /** Threads for OMP_NUM_THREADS and kin (the node's resources.threads, else `threads:`, else 1). */
  threads: number;
  /** Where the logs of a failed attempt are kept. */
  failureLogBase: string;
}

export const LOG_CAP_BYTES = 4 << 20;
const KILL_GRACE_MS = 2000;
const ENV_ALLOW = /^(HOME|LANG|LANGUAGE|LC_\w+|TZ|USER|LOGNAME|TERM|SHELL)$/;
const THREAD_VARS = ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'NUMEXPR_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'];
export const PINNED_PATH = '/usr/local/bin:/usr/bin:/bin';

const PY_WRAPPER = [
  'import os, sys, runpy, atexit',
  '_deps, _root, _script = sys.argv[1], sys.argv[2], sys.argv[3]',
  'sys.argv = [_script] + sys.argv[4:]',
  'sys.path[0] = os.path.dirname(os.path.abspath(_script))',
  'def _pipeline_record():',
  '    try:',
  '        root = os.path.realpath(_root) + os.sep',
  '        seen = set()',
  '        for m in list(sys.modules.values()):',
  '            f = getattr(m, "__file__", None)',
  '            if isinstance(f, str):',
  '                f = os.path.realpath(f)',
  '                if f.startswith(root): seen.add(f)',
  '        with open(_deps, "w") as fh: fh.write("\\n".join(sorted(seen)))',
  '    except Exception:',
  '        pass',
  'atexit.register(_pipeline_record)',
  'runpy.run_path(_script, run_name="__main__")',
].join('\n');

/** A capped capture of one stream: the first LOG_CAP_BYTES in a file, the last bytes in memory. */
class Capture {
  private fd: number;
  written = 0;
  dropped = 0;
  private tail = Buffer.alloc(0);
  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
  }
  add(chunk: Buffer): void {
    const room = LOG_CAP_BYTES - this.written;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      writeSync(this.fd, part);
      this.written += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    this.tail = Buffer.concat([this.tail, chunk]).subarray(-4096);
  }
  close(): void {
    if (this.dropped) writeSync(this.fd, `\n[pipeline: ${this.dropped} more bytes not kept (log cap ${LOG_CAP_BYTES} bytes)]\n`);
    closeSync(this.fd);
  }
  lastLines(n: number): string {
    return this.tail
      .toString('utf8')
      .replace(/\uFFFD/g, '?')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-n)
      .join(' | ');
  }
}

function safeName(s: string): string {
  return s.replace(/[^\w.=,-]+/g, '_').slice(0, 80);
}

interface Staged {
  port: string;
  files: Map<string, string>;
  dirs: string[];
}

function snapshot(file: string): string {
  const st = statSync(file);
  return `${st.size}:${st.mtimeMs}:${st.mode}`;
}

/** Stages one upstream entry's outputs into dir: read-only links or copies, or writable copies. */
function stageEntry(ref: InputRef, dir: string, writable: boolean, staged: Staged): void {
  mkdirSync(dir, { recursive: true });
  for (const name of Object.keys(ref.outputs)) {
    const from = join(ref.dir, name);
    const to = join(dir, name);
    // Copies (a reflink where the filesystem has them), never hard links: a program that chmods
    // and writes a link would damage the cache entry itself.
    copyFileSync(from, to, constants.COPYFILE_FICLONE);
    if (!writable) chmodSync(to, 0o444);
    if (!writable) staged.files.set(to, snapshot(to));
  }
  if (!writable) {
    chmodSync(dir, 0o555);
    staged.dirs.push(dir);
  }
}

/** The files the program wrote under dir (for the "missing output" message). */
function listWritten(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listWritten(p, base, out);
    else out.push(relative(base, p));
    if (out.length > 20) break;
  }
  return out;
}

function globToRe(g: string): RegExp {
  return new RegExp(`^${g.replace(/[.+^$()|[\]{}\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

function renderArg(arg: string, vars: (ref: string) => string): string {
  return arg.replace(REF, (_, ref: string) => vars(ref));
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function showArgv(argv: string[]): string {
  const s = argv.map(shellQuote).join(' ');
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export async function runCommandJob(job: Job, onProgress: (fraction: number, note?: string) => void): Promise<JobResult> {
  const cmd = job.command!;
  const { spec, program } = cmd;
  const scratch = `${job.outDir}.scratch`;
  rmSync(scratch, { recursive: true, force: true });
  const out = join(scratch, 'out');
  const tmp = join(scratch, 'tmp');
  mkdirSync(out, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const paramsFile = join(scratch, 'params.json');
  writeFileSync(paramsFile, `${JSON.stringify(job.params, null, 1)}\n`);
  const staged: Staged[] = [];
  const inputDirs: Record<string, string> = {};
  try {
    for (const [port, inp] of Object.entries(job.inputs)) {
      const writable = spec.copyInputs.includes(port);
      const st: Staged = { port, files: new Map(), dirs: [] };
      staged.push(st);
      const portDir = join(scratch, 'inputs', port);
      if (inp.gather) {
        // A gathered input: one folder per upstream node (0, 1, ...) and index.json saying who is who.
        mkdirSync(portDir, { recursive: true });
        inp.refs.forEach((ref, i) => stageEntry(ref, join(portDir, String(i)), writable, st));
        writeFileSync(join(portDir, 'index.json'), `${JSON.stringify(inp.refs.map((r, i) => ({ dir: String(i), id: r.id, stage: r.stage, coords: r.coords })), null, 1)}\n`);
        if (!writable) {
          chmodSync(portDir, 0o555);
          st.dirs.push(portDir);
        }
      } else stageEntry(inp.refs[0], portDir, writable, st);
      inputDirs[port] = portDir;
    }
    const vars = (ref: string): string => {
      if (ref === 'out') return out;
      if (ref === 'params_file') return paramsFile;
      if (ref === 'root') return job.root;
      if (ref === 'scratch') return scratch;
      if (ref.startsWith('inputs.')) return inputDirs[ref.slice(7)] ?? '';
      const v = job.params[ref];
      return typeof v === 'string' ? v : JSON.stringify(v);
    };
    const depsFile = join(scratch, 'deps.txt');
    const scriptAbs = program.script ? join(job.root, program.script) : undefined;
    const args = program.args.map((a) => renderArg(a, vars));
    let argv: string[];
    // What the failure line shows: params filled in, the engine's folders left as ${out}, ${inputs.x}.
    let shown: string[] = (spec.argv ?? []).map((a) => renderArg(a, (ref) => (BUILTIN_REFS.includes(ref) || ref.startsWith('inputs.') ? `\${${ref}}` : vars(ref))));
    if (program.shell) {
      argv = [program.exe, ...program.exeArgs];
      shown = [spec.shell!];
    } else if (program.python && scriptAbs) {
      argv = [program.exe, ...program.exeArgs, '-c', PY_WRAPPER, depsFile, job.root, scriptAbs, ...args];
    } else {
      argv = [program.exe, ...program.exeArgs, ...(scriptAbs ? [scriptAbs] : []), ...args];
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && ENV_ALLOW.test(k)) env[k] = v;
    Object.assign(env, spec.env);
    env.PATH = `${dirname(program.exe)}:${PINNED_PATH}`;
    env.TMPDIR = tmp;
    env.PYTHONDONTWRITEBYTECODE = '1';
    env.PIPELINE_OUT = out;
    env.PIPELINE_PARAMS = paramsFile;
    env.PIPELINE_ROOT = job.root;
    env.PIPELINE_NODE = job.nodeId;
    for (const [port, dir] of Object.entries(inputDirs)) env[`PIPELINE_INPUT_${port.toUpperCase()}`] = dir;
    for (const v of THREAD_VARS) env[v] = String(cmd.threads);

    const stdout = new Capture(join(scratch, 'stdout.log'));
    const stderr = new Capture(join(scratch, 'stderr.log'));
    const start = performance.now();
    const { code, signal, timedOut, leftover } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; leftover: boolean }>((resolvePromise, reject) => {
      const child = spawn(argv[0], argv.slice(1), { cwd: scratch, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      let killer: NodeJS.Timeout | undefined;
      const pgid = child.pid;
      if (pgid) trackGroup(pgid);
      const endGroup = () => {
        try {
          process.kill(-pgid!, 'SIGTERM');
        } catch {
          return;
        }
        killer = setTimeout(() => {
          try {
            process.kill(-pgid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, KILL_GRACE_MS);
      };
      if (spec.timeout) {
        timer = setTimeout(() => {
          timedOut = true;
          endGroup();
        }, spec.timeout * 1000);
      }
      let pending = '';
      child.stdout!.on('data', (c: Buffer) => {
        stdout.add(c);
        // Progress lines; only chunks that may hold one are split (1 GB of output stays cheap).
        if (pending || c.includes('::progress')) {
          const text = pending + c.toString('utf8');
          const lines = text.split('\n');
          pending = lines.pop()!.slice(-200);
          if (!pending.includes('::progress')) pending = '';
          for (const l of lines) {
            const m = /^::progress\s+([0-9.eE+-]+)\s*(.*)$/.exec(l.trim());
            if (m && Number.isFinite(Number(m[1]))) onProgress(Math.min(1, Math.max(0, Number(m[1]))), m[2] || undefined);
          }
        }
      });
      child.stderr!.on('data', (c: Buffer) => stderr.add(c));
      child.on('error', (e) => {
        clearTimeout(timer);
        if (pgid) untrackGroup(pgid);
        reject(new CommandFailure(`${job.nodeId}: cannot start ${showArgv(shown)}: ${e.message}`));
      });
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let leftover = false;
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        clearTimeout(timer);
        clearTimeout(killer);
        // The program is gone; anything left in its group (a background child, which may hold
        // the output pipes open) is ended now.
        try {
          process.kill(-pgid!, 'SIGKILL');
          leftover = true;
        } catch {
          // nothing left
        }
      });
      child.on('close', () => {
        if (pgid) untrackGroup(pgid);
        resolvePromise({ code: exited?.code ?? null, signal: exited?.signal ?? null, timedOut, leftover });
      });
    });
    const seconds = (performance.now() - start) / 1000;
    if (leftover) stderr.add(Buffer.from('\n[pipeline: the program left processes running in its group; they were killed]\n'));
    stdout.close();
    stderr.close();
    const keepLogs = (): string => {
      mkdirSync(dirname(cmd.failureLogBase), { recursive: true });
      for (const s of ['stdout', 'stderr']) {
        try {
          renameSync(join(scratch, `${s}.log`), `${cmd.failureLogBase}.${s}.log`);
        } catch {
          // kept what could be kept
        }
      }
      return `${cmd.failureLogBase}.stderr.log`;
    };
    const fail = (what: string): never => {
      const tail = stderr.lastLines(3);
      throw new CommandFailure(`${what}: ${showArgv(shown)}${tail ? ` — stderr: ${tail}` : ''} (log: ${keepLogs()})`);
    };
    if (timedOut) fail(`timed out after ${spec.timeout} s (timeout:), its process group was ended`);
    if (signal) fail(`killed by ${signal}`);
    if (code !== 0) {
      const touched = modifiedInputs(staged);
      if (touched) fail(`exited with ${code} after writing into its staged input "${touched}" (inputs are read-only; copy_inputs: [${touched}] gives a writable copy)`);
      const ro = staged.find((s) => stderr.lastLines(20).includes(join(scratch, 'inputs', s.port)));
      fail(ro ? `exited with ${code} (it tried to write into its read-only input "${ro.port}"; copy_inputs: [${ro.port}] gives a writable copy)` : `exited with ${code}`);
    }
    const touched = modifiedInputs(staged);
    if (touched) fail(`wrote into its staged input "${touched}" (inputs are read-only; copy_inputs: [${touched}] gives a writable copy)`);
    // Outputs: each declared name (or pattern) must match something the program wrote.
    const written = existsSync(out) ? readdirSync(out) : [];
    const outputs: Record<string, OutputFile> = {};
    for (const decl of spec.outputs) {
      const re = globToRe(decl);
      const matches = written.filter((f) => re.test(f) && statSync(join(out, f)).isFile());
      if (!matches.length) {
        const all = listWritten(out);
        fail(`exited 0 but did not write declared output "${decl}" into \${out} (it wrote: ${all.length ? all.join(', ') : 'nothing'})`);
      }
      for (const f of matches) {
        const bytes = readFileSync(join(out, f));
        renameSync(join(out, f), join(job.outDir, f));
        outputs[f] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
      }
    }
    for (const s of ['stdout', 'stderr']) renameSync(join(scratch, `${s}.log`), join(job.outDir, `.${s}.log`));
    const result: JobResult = { outputs: Object.fromEntries(Object.entries(outputs).sort(([a], [b]) => (a < b ? -1 : 1))), seconds, log: [] };
    if (program.python && scriptAbs && existsSync(depsFile)) {
      const root = `${job.root}/`;
      const found = readFileSync(depsFile, 'utf8')
        .split('\n')
        .filter((f) => f.startsWith(root))
        .map((f) => f.slice(root.length))
        .filter((f) => f !== program.script && !f.startsWith('cache/'));
      const fps = new Fingerprints(job.root, cmd.cacheDir, true);
      result.discovered = fps.files(found, { exe: program.exe, identity: cmd.interpreter });
    }
    return result;
  } finally {
    for (const s of staged) for (const d of s.dirs) if (existsSync(d)) chmodSync(d, 0o755);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The port of a staged input whose files or folder the program changed, if any. */
function modifiedInputs(staged: Staged[]): string | undefined {
  for (const s of staged) {
    for (const [file, snap] of s.files) {
      try {
        if (snapshot(file) !== snap) return s.port;
      } catch {
        return s.port;
      }
    }
    for (const d of s.dirs) {
      const names = readdirSync(d).filter((n) => !s.files.has(join(d, n)) && !/^\d+$/.test(n) && n !== 'index.json');
      if (names.length) return s.port;
    }
  }
  return undefined;
}

export { safeName };
