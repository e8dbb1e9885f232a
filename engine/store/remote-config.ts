/**
 * Which remote cache a command uses, and with which credentials and keys.
 *
 * URL: `--remote URL`, else $PIPELINE_REMOTE, else the config's `remote: { url }` (the precedence
 * of the slurm options). `--remote off` (or PIPELINE_REMOTE=off) turns it off.
 * Credentials only from the environment or a file, never from the URL (a URL is printed and
 * stored): PIPELINE_REMOTE_TOKEN or PIPELINE_REMOTE_TOKEN_FILE (a bearer token),
 * PIPELINE_REMOTE_BASIC_FILE (a file holding user:password).
 * Keys: PIPELINE_REMOTE_TRUST (readers: PEM public keys), PIPELINE_REMOTE_KEY (writers: a PEM
 * private key).
 */
import { readFileSync } from 'node:fs';
import type { Cache } from './cache.ts';
import { PipelineError, type Location } from '../errors.ts';
import { HttpRemote } from './remote-http.ts';
import { RemoteCache, Warnings } from './remote-cache.ts';
import { loadPrivateKey, loadTrusted } from './signing.ts';

export interface RemoteChoice {
  /** --remote */
  flag?: string;
  /** The target config's `remote:` block and where its keys are. */
  config?: Record<string, unknown>;
  locate?: (path: string[]) => Location;
  env?: NodeJS.ProcessEnv;
  /** push, --remote-write: a writer key is required. */
  write?: boolean;
  /** Where warnings go (stderr). */
  warn?: (line: string) => void;
}

function secretFromFile(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new PipelineError(`${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { key: name });
  }
}

/** The Authorization header value, or undefined. Never printed. */
function authorization(env: NodeJS.ProcessEnv): string | undefined {
  if (env.PIPELINE_REMOTE_TOKEN) return `Bearer ${env.PIPELINE_REMOTE_TOKEN}`;
  if (env.PIPELINE_REMOTE_TOKEN_FILE) return `Bearer ${secretFromFile(env.PIPELINE_REMOTE_TOKEN_FILE, 'PIPELINE_REMOTE_TOKEN_FILE')}`;
  if (env.PIPELINE_REMOTE_BASIC_FILE) {
    const pair = secretFromFile(env.PIPELINE_REMOTE_BASIC_FILE, 'PIPELINE_REMOTE_BASIC_FILE');
    if (!pair.includes(':')) throw new PipelineError(`PIPELINE_REMOTE_BASIC_FILE: ${env.PIPELINE_REMOTE_BASIC_FILE} must hold user:password on one line`, { key: 'PIPELINE_REMOTE_BASIC_FILE' });
    return `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  return undefined;
}

/** The remote's URL from flag, environment, config; undefined when none or off. */
export function remoteUrl(c: RemoteChoice): URL | undefined {
  const env = c.env ?? process.env;
  const cfg = c.config;
  if (cfg !== undefined) {
    for (const k of Object.keys(cfg)) if (k !== 'url') throw new PipelineError(`unknown remote option; expected url`, c.locate?.(['remote', k]) ?? { key: `remote.${k}` });
    if (typeof cfg.url !== 'string') throw new PipelineError(`expected the remote cache's URL (http://host:port/path), got ${JSON.stringify(cfg.url) ?? 'nothing'}`, c.locate?.(['remote', 'url']) ?? { key: 'remote.url' });
  }
  const [text, where]: [string | undefined, Location] = c.flag !== undefined ? [c.flag, { key: '--remote' }] : env.PIPELINE_REMOTE ? [env.PIPELINE_REMOTE, { key: 'PIPELINE_REMOTE' }] : [cfg?.url as string | undefined, c.locate?.(['remote', 'url']) ?? { key: 'remote.url' }];
  if (text === undefined || text === '' || text === 'off') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PipelineError(`expected an http:// or https:// URL, got "${text.replace(/\/\/[^/@]*@/, '//***@').slice(0, 80)}"`, where);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PipelineError(`expected an http:// or https:// URL, got ${url.protocol}`, where);
  if (url.username || url.password) throw new PipelineError('credentials in the URL are refused (a URL is printed and stored): use PIPELINE_REMOTE_TOKEN(_FILE) or PIPELINE_REMOTE_BASIC_FILE', where);
  return url;
}

/** The remote cache a command reads (and with `write`, writes), or undefined when none is configured. */
export function openRemote(cache: Cache, c: RemoteChoice): RemoteCache | undefined {
  const env = c.env ?? process.env;
  const url = remoteUrl(c);
  if (!url) return undefined;
  const writer = env.PIPELINE_REMOTE_KEY ? loadPrivateKey(env.PIPELINE_REMOTE_KEY) : undefined;
  if (c.write && !writer) throw new PipelineError('writing to the remote cache needs a signing key: set PIPELINE_REMOTE_KEY to an ed25519 private key (PEM; `pipeline remote keygen` makes one)', { key: 'PIPELINE_REMOTE_KEY' });
  const trusted = env.PIPELINE_REMOTE_TRUST ? loadTrusted(env.PIPELINE_REMOTE_TRUST) : undefined;
  const warnings = new Warnings(c.warn ?? ((l) => process.stderr.write(l)));
  if (!trusted && !c.write) warnings.warn('trust', 'PIPELINE_REMOTE_TRUST is not set: no remote entry can be trusted, so none is read (set it to a PEM file of the writers\' public keys)');
  const http = new HttpRemote(url, { authorization: authorization(env), concurrency: Number(env.PIPELINE_REMOTE_JOBS ?? 8) || 8 });
  return new RemoteCache(http, cache, { trusted, writer, warnings, label: http.where });
}
