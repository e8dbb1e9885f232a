/**
 * A remote cache server over plain HTTP in Bazel's remote-cache layout: /ac/<key> (manifests),
 * /cas/<sha256> (output files); GET, HEAD, PUT; 404 is a miss. nginx's WebDAV module, Apache
 * mod_dav and bazel-remote all serve it.
 *
 * Files are streamed both ways (a 1 GB output is never in memory) and hashed while they arrive.
 * Transient errors (a reset connection, 5xx, 408, 429) are retried with backoff; a server that
 * cannot be reached at all (refused, no route, no name, no answer to connect within seconds)
 * marks the remote down for the rest of the process: one warning, then every call is a miss.
 * Credentials are a header value held here and never put in a message.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HttpRemoteOptions {
  /** Authorization header value (Bearer ... or Basic ...), from the environment or a file. */
  authorization?: string;
  /** Transfers at once. */
  concurrency?: number;
  /** No answer to connect within this: the server is unreachable. */
  connectTimeoutMs?: number;
  /** No bytes for this long mid-transfer: the attempt failed (retried). */
  idleTimeoutMs?: number;
  retries?: number;
}

/** The server cannot be reached: nothing more is asked of it in this process. */
export class RemoteDown extends Error {}

/** A request that failed after its retries (or with a status that retrying does not change). */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT', 'NO_ANSWER']);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** What a download of one file came to. */
export type Download = { ok: true } | { ok: false; missing?: true; problem: string };

export class HttpRemote {
  /** Why the server is down (set once, by the first unreachable attempt). */
  down?: string;
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly retries: number;

  constructor(
    readonly base: URL,
    private readonly opts: HttpRemoteOptions = {},
  ) {
    this.lib = base.protocol === 'https:' ? https : http;
    this.concurrency = opts.concurrency ?? 8;
    this.agent = new this.lib.Agent({ keepAlive: true, maxSockets: this.concurrency });
    this.connectTimeoutMs = opts.connectTimeoutMs ?? Number(process.env.PIPELINE_REMOTE_CONNECT_TIMEOUT_MS ?? 3000);
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
  }

  /** The server's address without credentials or query, for messages. */
  get where(): string {
    return `${this.base.protocol}//${this.base.host}${this.base.pathname.replace(/\/$/, '')}`;
  }

  close(): void {
    this.agent.destroy();
  }

  /** At most `concurrency` requests at once. */
  private async slot<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  private url(path: string): URL {
    return new URL(`${this.base.pathname.replace(/\/$/, '')}/${path}`, this.base);
  }

  /**
   * One request with retries. `send` writes the body (or ends it); `receive` consumes a 2xx
   * response (it may reject to retry). 404 resolves to undefined.
   */
  private async request<T>(method: string, path: string, send: (req: http.ClientRequest) => Promise<void> | void, receive: (res: http.IncomingMessage) => Promise<T>, headers: Record<string, string | number> = {}): Promise<T | undefined> {
    return this.slot(async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.down) throw new RemoteDown(this.down);
        try {
          return await this.once(method, path, send, receive, headers);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? '';
          if (UNREACHABLE.has(code)) {
            const why = code === 'CONNECT_TIMEOUT' ? `no connection within ${this.connectTimeoutMs / 1000} s` : code === 'NO_ANSWER' ? `connected, but no answer within ${(2 * this.connectTimeoutMs) / 1000} s` : code;
            this.down ??= `${this.where} is unreachable (${why})`;
            throw new RemoteDown(this.down);
          }
          if (e instanceof RemoteError && (e.status === 401 || e.status === 403)) {
            this.down ??= `${this.where} refused access (HTTP ${e.status}): check PIPELINE_REMOTE_TOKEN(_FILE) or PIPELINE_REMOTE_BASIC_FILE`;
            throw new RemoteDown(this.down);
          }
          const transient = e instanceof RemoteError ? e.status !== undefined && TRANSIENT_STATUS.has(e.status) : true;
          if (!transient || attempt >= this.retries) throw e instanceof RemoteError ? e : new RemoteError(`${method} ${path}: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 200 * 4 ** attempt));
        }
      }
    });
  }

  private once<T>(method: string, path: string, send: (req: http.ClientRequest) => Promise<void> | void, receive: (res: http.IncomingMessage) => Promise<T>, headers: Record<string, string | number>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const req = this.lib.request(this.url(path), {
        method,
        agent: this.agent,
        headers: { ...headers, ...(this.opts.authorization ? { authorization: this.opts.authorization } : {}) },
      });
      let connected = false;
      const connectTimer = setTimeout(() => {
        if (!connected) req.destroy(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' }));
      }, this.connectTimeoutMs);
      req.on('socket', (sock) => {
        if (!sock.connecting) connected = true;
        else sock.once('connect', () => (connected = true));
      });
      // A server that takes the connection and never answers is as good as unreachable: a GET or
      // HEAD gets its headers within the connect timeout (a PUT's answer comes after its body).
      let answered = false;
      if (method !== 'PUT') {
        const answerTimer = setTimeout(() => {
          if (!answered) req.destroy(Object.assign(new Error('no answer'), { code: 'NO_ANSWER' }));
        }, 2 * this.connectTimeoutMs);
        req.on('close', () => clearTimeout(answerTimer));
      }
      req.setTimeout(this.idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${this.idleTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => {
        clearTimeout(connectTimer);
        reject(e);
      });
      req.on('response', (res) => {
        answered = true;
        clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        if (status === 404) {
          res.resume();
          return resolve(undefined);
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return reject(new RemoteError(`${method} ${path}: HTTP ${status}${status === 413 ? ' (the server refuses a body this large: raise client_max_body_size)' : ''}`, status));
        }
        receive(res).then(resolve, reject);
      });
      Promise.resolve(send(req)).catch((e) => req.destroy(e as Error));
    });
  }

  /** The object's size when the server has it, else undefined. */
  async head(path: string): Promise<number | undefined> {
    return this.request('HEAD', path, (req) => void req.end(), async (res) => {
      res.resume();
      return Number(res.headers['content-length'] ?? -1);
    });
  }

  /** A small JSON document (a manifest), at most maxBytes; undefined when absent. */
  async getJson(path: string, maxBytes = 16 << 20): Promise<unknown> {
    const text = await this.request('GET', path, (req) => void req.end(), async (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res as AsyncIterable<Buffer>) {
        n += c.byteLength;
        if (n > maxBytes) throw new RemoteError(`GET ${path}: larger than ${maxBytes} bytes`);
        chunks.push(c);
      }
      return Buffer.concat(chunks).toString('utf8');
    });
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return { unparsable: true };
    }
  }

  /**
   * Streams an object into `file`, hashing it on the way; ok only when it has exactly `bytes`
   * bytes and sha256 `sha`. A download cut off mid-way is retried from the start.
   */
  async download(path: string, file: string, sha: string, bytes: number, onBytes?: (n: number) => void): Promise<Download> {
    const r = await this.request('GET', path, (req) => void req.end(), async (res) => {
      const hash = createHash('sha256');
      let n = 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          n += chunk.byteLength;
          if (n > bytes) return cb(new RemoteError(`GET ${path}: more than the ${bytes} bytes the manifest records`));
          hash.update(chunk);
          onBytes?.(chunk.byteLength);
          cb(null, chunk);
        },
      });
      await pipeline(res, count, createWriteStream(file));
      // A response shorter than its Content-Length ends with an error above (retried); one the
      // server itself holds truncated arrives whole and is caught here.
      if (n !== bytes) return { ok: false, problem: `${path} has ${n} bytes, the manifest records ${bytes}` } as Download;
      const got = hash.digest('hex');
      if (got !== sha) return { ok: false, problem: `${path} hashes to ${got.slice(0, 12)}, not ${sha.slice(0, 12)}` } as Download;
      return { ok: true } as Download;
    });
    return r ?? { ok: false, missing: true, problem: `${path} is not on the server` };
  }

  /** PUTs a file, streamed. */
  async upload(path: string, file: string, bytes: number, onBytes?: (n: number) => void): Promise<void> {
    await this.request(
      'PUT',
      path,
      async (req) => {
        const src = createReadStream(file);
        if (onBytes) src.on('data', (c) => onBytes((c as Buffer).byteLength));
        await pipeline(src, req);
      },
      async (res) => void res.resume(),
      { 'content-length': bytes, 'content-type': 'application/octet-stream' },
    );
  }

  async put(path: string, body: Buffer): Promise<void> {
    await this.request('PUT', path, (req) => void req.end(body), async (res) => void res.resume(), { 'content-length': body.byteLength, 'content-type': 'application/json' });
  }
}
