/**
 * `file` params at plan time: the file must lie inside the project (links resolved) unless its
 * absolute path came from the command line; its content hash enters the node key; the stage's
 * checkFile reads it so that bad data is a located error before anything runs.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { StageSpec, TargetSpec } from './config.ts';
import { formatLocation, PipelineError } from '../errors.ts';
import { canonicalJson, sha256 } from '../keys/hash.ts';
import { formatBytes, MAX_DATA_FILE_BYTES } from './limits.ts';
import { isInside } from './project-paths.ts';
import type { StageDefinition } from '../stage-api.ts';

/** Content checks already done in this process: a file shared by many nodes is parsed once. */
const checkedFiles = new Map<string, ReturnType<NonNullable<StageDefinition['checkFile']>>>();

/**
 * Replaces each `file` param by {path, sha256}, so the file's content is part of the node key.
 * A file must lie inside the project (after resolving links) unless its absolute path was given
 * on the command line; the stage's checkFile then reads it, so bad data is an error before any run.
 */
export function resolveFiles(t: TargetSpec, s: StageSpec, def: StageDefinition, params: Record<string, unknown>, root: string, at: string): { key: string; message: string } | undefined {
  for (const [key, spec] of Object.entries(def.params)) {
    if (spec.type !== 'file' || typeof params[key] !== 'string') continue;
    const path = params[key] as string;
    if (path.includes('\0')) return { key, message: 'a file path may not contain a NUL character' };
    const abs = resolve(root, path);
    const fromCommandLine = isAbsolute(path) && t.commandLinePaths.includes(path);
    if (!fromCommandLine && !isInside(root, abs)) {
      return { key, message: `files a config names must lie inside the project (${root}); a file elsewhere may be given as an absolute path on the command line (--set stages.${s.name}.params.${key}=/abs/path)` };
    }
    if (!existsSync(abs)) return { key, message: `data file not found: ${path} (paths are relative to ${root})` };
    if (!statSync(abs).isFile()) return { key, message: `not a regular file: ${path} (a data file must be a file, not a folder, device or pipe)` };
    const size = statSync(abs).size;
    if (size > MAX_DATA_FILE_BYTES) return { key, message: `data file is ${formatBytes(size)}; at most ${formatBytes(MAX_DATA_FILE_BYTES)} can be read (the longest string Node can hold)` };
    const content = readFileSync(abs);
    const shown = fromCommandLine ? realpathSync(abs) : relative(root, abs).split(sep).join('/');
    const digest = sha256(content);
    params[key] = { path: shown, sha256: digest };
    if (!def.checkFile) continue;
    const memo = `${s.kind}\0${key}\0${digest}\0${canonicalJson(params)}`;
    let problem = checkedFiles.get(memo);
    if (!checkedFiles.has(memo)) {
      problem = def.checkFile(key, content, params);
      checkedFiles.set(memo, problem);
    }
    if (problem?.param) return { key: problem.param, message: problem.message };
    if (problem) {
      const config = t.locate(['stages', s.name, 'params', key]);
      const where = formatLocation({ file: config.file, line: config.line });
      throw new PipelineError(`${problem.message} (read for stages.${s.name}.params.${key}${where ? ` at ${where}` : ''}${at})`, { file: shown, line: problem.line, column: problem.line ? problem.column : undefined });
    }
  }
  return undefined;
}
