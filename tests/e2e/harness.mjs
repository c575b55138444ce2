// harness: runs a real `payd serve` for the e2e tests.
//
// startPayd() makes a fresh temporary directory (mkdtemp), creates merchant
// keys with `payd keys create`, starts `payd serve --listen 127.0.0.1:0` on
// a database in that directory and resolves once payd has printed its
// "payd listening on http://HOST:PORT" line.  The returned object knows the
// URL, port and keys, builds stripe clients pointed at the server, and can
// stop it (SIGTERM, wait for a clean exit, remove the directory), kill it
// with SIGKILL and restart it on the same database (durability tests).
//
// Nothing here sleeps and hopes: every wait is on a real condition (a line
// on stdout, the process's exit, an HTTP condition polled with a deadline),
// and every wait has a deadline so that a hung server fails the test
// instead of hanging the suite.  Every payd still running when the test
// process exits is killed.

import { spawn, execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import Stripe from 'stripe';

export const START_TIMEOUT_MS = 15_000;
export const STOP_TIMEOUT_MS = 15_000;
const LOG_TAIL_MAX = 64 * 1024;

/** The payd binary: $PAYD_BIN, required. */
export function paydBin() {
  const bin = process.env.PAYD_BIN;
  if (!bin) {
    throw new Error(
      'PAYD_BIN is not set: run `make e2e`, or PAYD_BIN=/abs/path/to/payd node --test'
    );
  }
  if (!existsSync(bin)) throw new Error(`PAYD_BIN=${bin} does not exist (run \`make payd\`)`);
  return bin;
}

// Every live child, so that none outlives the test process: killed when
// the process exits, and when it is interrupted (the test runner sends
// SIGTERM to a test file it cancels; Ctrl-C sends SIGINT).
// Their temporary directories go too.
const live = new Set();
const dirs = new Set();
function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig); // then die of it as usual
  });
}

function run(bin, args, timeoutMs = START_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Creates a key for `merchant` in `db` and returns it (sk_test_...). */
export async function createKey(db, merchant) {
  const out = await run(paydBin(), ['keys', 'create', '--db', db, '--merchant', merchant]);
  const key = out.trim().split('\n').pop().trim();
  if (!/^sk_test_\S+$/.test(key)) throw new Error(`payd keys create printed ${JSON.stringify(out)}`);
  return key;
}

/** Rejects after `ms` with `what` timed out; for Promise.race. */
function deadline(ms, what) {
  const ac = new AbortController();
  const p = delay(ms, undefined, { signal: ac.signal }).then(
    () => {
      throw new Error(`${what}: no result after ${ms} ms`);
    },
    () => new Promise(() => {}) // cancelled: never settles
  );
  return { promise: p, cancel: () => ac.abort() };
}

async function withDeadline(promise, ms, what) {
  const d = deadline(ms, what);
  try {
    return await Promise.race([promise, d.promise]);
  } finally {
    d.cancel();
  }
}

/**
 * Polls `probe` (async; returns a value or undefined/false) until it returns
 * something truthy, or throws after `timeoutMs`.  Returns the value.
 */
export async function waitFor(probe, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() >= end) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}

/** application/x-www-form-urlencoded with Stripe's bracket notation. */
export function formEncode(params, prefix = '') {
  const parts = [];
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined) continue;
    const key = prefix ? `${prefix}[${k}]` : k;
    if (v !== null && typeof v === 'object') {
      const inner = Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [i, x])) : v;
      const s = formEncode(inner, key);
      if (s) parts.push(s);
    } else {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v === null ? '' : String(v))}`);
    }
  }
  return parts.join('&');
}

class Payd {
  constructor(dir, db, keys, opts) {
    this.dir = dir;
    this.db = db;
    this.keys = keys; // { merchantName: key }
    this.key = Object.values(keys)[0];
    this.opts = opts;
    this.proc = null;
    this.url = null;
    this.port = null;
    this.starts = 0;
    this.logTail = '';
    this.exited = null; // promise of {code, signal} for the current process
  }

  async _spawn() {
    const args = ['serve', '--db', this.db, '--listen', '127.0.0.1:0', ...(this.opts.args ?? [])];
    const child = spawn(paydBin(), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(this.opts.env ?? {}) },
    });
    this.proc = child;
    this.starts++;
    this.logTail = ''; // the current process's log only
    // One keep-alive agent per process: stripe clients and request() share
    // it, and terminate() closes its idle connections before SIGTERM so
    // that payd's drain does not wait for them (see the report: payd waits
    // its full drain time for idle keep-alive connections).
    this.agent?.destroy();
    this.agent = new http.Agent({ keepAlive: true });
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.logTail = (this.logTail + chunk).slice(-LOG_TAIL_MAX);
    });
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        const m = /payd listening on (http:\/\/([^\s:]+|\[[^\]]+\]):(\d+))/.exec(line);
        if (m) resolve({ url: m[1], port: Number(m[3]) });
      });
      child.once('error', reject);
      this.exited.then(({ code, signal }) =>
        reject(new Error(`payd serve exited before listening (code ${code}, signal ${signal})\n${this.logTail}`))
      );
    });
    try {
      const { url, port } = await withDeadline(ready, START_TIMEOUT_MS, 'payd serve start');
      this.url = url;
      this.port = port;
    } catch (err) {
      child.kill('SIGKILL');
      await this.exited;
      throw err;
    }
  }

  /** A stripe client for `key` (default: the first merchant's). */
  stripe(key = this.key, extra = {}) {
    return new Stripe(key, {
      host: '127.0.0.1',
      port: this.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      timeout: 30_000,
      httpAgent: this.agent,
      telemetry: false,
      ...extra,
    });
  }

  /**
   * A raw HTTP request (node:http), for what stripe-node does not expose.
   * body: an object (form-encoded) or a string.  key: null sends no
   * Authorization header.  Returns {status, headers, body (parsed JSON), text}.
   */
  request(method, path, { key = this.key, body, headers = {} } = {}) {
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    let payload;
    if (body !== undefined) {
      payload = Buffer.from(typeof body === 'string' ? body : formEncode(body));
      h['Content-Type'] ??= 'application/x-www-form-urlencoded';
      h['Content-Length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path, headers: h, agent: this.agent, timeout: 30_000 },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode, headers: res.headers, body: json, text });
          });
          res.on('error', reject);
        }
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Waits until payd's log (stderr) matches `pattern`; returns the matching line. */
  async waitForLog(pattern, { timeoutMs = 10_000 } = {}) {
    return waitFor(
      () => this.logTail.split('\n').find((line) => pattern.test(line)),
      { timeoutMs, intervalMs: 2, what: `a log line matching ${pattern}` }
    );
  }

  /** The last part of payd's stderr (its JSON log), for failure messages. */
  logs() {
    return this.logTail;
  }

  get running() {
    return this.proc !== null && live.has(this.proc);
  }

  /** Closes the agent's idle keep-alive connections (requests in flight keep theirs). */
  _closeIdleConnections() {
    for (const sockets of Object.values(this.agent?.freeSockets ?? {})) {
      for (const socket of sockets) socket.destroy();
    }
  }

  /**
   * SIGTERM and wait for the exit; resolves to {code, signal}.  If payd has
   * not exited after timeoutMs it is killed with SIGKILL and this throws.
   * closeIdle: false keeps the client's idle keep-alive connections open.
   */
  async terminate({ timeoutMs = STOP_TIMEOUT_MS, closeIdle = true } = {}) {
    if (!this.running) return this.exited ? this.exited : { code: null, signal: null };
    if (closeIdle) this._closeIdleConnections();
    this.proc.kill('SIGTERM');
    try {
      return await withDeadline(this.exited, timeoutMs, 'payd exit after SIGTERM');
    } catch (err) {
      this.proc.kill('SIGKILL');
      await this.exited;
      err.message += `\npayd's log (tail):\n${this.logTail.slice(-4000)}`;
      throw err;
    }
  }

  /** SIGKILL: no chance to clean up, as in a crash or power loss. */
  async kill9() {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await withDeadline(this.exited, STOP_TIMEOUT_MS, 'payd exit after SIGKILL');
  }

  /** Stops the current process (SIGTERM unless already dead) and starts again on the same database. */
  async restart() {
    if (this.running) {
      const { code, signal } = await this.terminate();
      if (code !== 0) throw new Error(`payd did not stop cleanly (code ${code}, signal ${signal})`);
    }
    await this._spawn();
  }

  /**
   * Stops payd with SIGTERM, waits for it, removes the temporary directory.
   * Throws if payd did not exit with status 0 (an unclean shutdown is a bug),
   * but cleans up first in every case.
   */
  async stop() {
    let result = null;
    let error = null;
    try {
      if (this.running) result = await this.terminate();
    } catch (err) {
      error = err;
    }
    await rm(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
    if (error) throw error;
    if (result && result.code !== 0) {
      throw new Error(
        `payd did not stop cleanly on SIGTERM (code ${result.code}, signal ${result.signal})\n${this.logTail}`
      );
    }
  }
}

/**
 * Starts payd on a fresh database.
 * opts.merchants: names of the merchants to create keys for (default ['acme']).
 * opts.env, opts.args: extra environment and `serve` arguments.
 */
export async function startPayd(opts = {}) {
  const merchants = opts.merchants ?? ['acme'];
  const dir = await mkdtemp(join(tmpdir(), 'payd-e2e-'));
  dirs.add(dir);
  const db = join(dir, 'payd.db');
  try {
    const keys = {};
    for (const m of merchants) keys[m] = await createKey(db, m);
    const payd = new Payd(dir, db, keys, opts);
    await payd._spawn();
    return payd;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw err;
  }
}

/**
 * Starts payd with a configuration file made of `config` (its channels
 * default to the sandbox alone): payd starts once to create the database
 * and keys, then again with --config.
 */
export async function startPaydWithConfig(config, opts = {}) {
  const payd = await startPayd(opts);
  const path = join(payd.dir, 'payd.json');
  await writeFile(path, JSON.stringify({ channels: [{ name: 'sandbox', kind: 'sandbox' }], ...config }));
  payd.opts.args = [...(payd.opts.args ?? []), '--config', path];
  await payd.restart();
  return payd;
}

/** The error catalog, from `payd codes --json`, keyed by numeric code. */
let catalogCache = null;
export async function catalog() {
  if (!catalogCache) {
    const rows = JSON.parse(await run(paydBin(), ['codes', '--json']));
    catalogCache = new Map(rows.map((r) => [r.code, r]));
  }
  return catalogCache;
}

/** Resolves to the error a promise rejects with; fails if it resolves. */
export async function rejection(promise) {
  try {
    const value = await promise;
    throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 400)}`), {
      notRejected: true,
    });
  } catch (err) {
    if (err && err.notRejected) throw err;
    return err;
  }
}

/** The balance for `currency` as {available, pending} numbers (0 when absent). */
export async function balanceOf(stripe, currency) {
  const b = await stripe.balance.retrieve();
  const pick = (list) => (list ?? []).filter((x) => x.currency === currency).reduce((s, x) => s + x.amount, 0);
  return { available: pick(b.available), pending: pick(b.pending) };
}

/** Unique ids for idempotency keys, metadata, ... */
let seq = 0;
export function uniq(prefix = 'k') {
  seq++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}
