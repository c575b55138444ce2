// sim: runs a real payd-sim (sim/, docs/SIM_PROTOCOL.md) for tests that
// drive payd's network channels, and writes the payd config that points
// at it.
//
// startSim(scenario) writes the scenario to a fresh temporary directory,
// starts `payd-sim --listen 127.0.0.1:0 --ready-file ...` and resolves once
// the ready file names every port.  The returned object changes channels
// while the sim runs (POST /admin/channels/NAME), reads its books, writes
// a payd config for it (paydConfig) and stops it.  Every wait has a
// deadline; every sim still running when the test process exits is killed.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './harness.mjs';

const SIM_START_TIMEOUT_MS = 15_000;
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** The payd-sim binary: $SIM_BIN, required. */
export function simBin() {
  const bin = process.env.SIM_BIN;
  if (!bin) throw new Error('SIM_BIN is not set: run `make e2e`');
  if (!existsSync(bin)) throw new Error(`SIM_BIN=${bin} does not exist (run \`make sim\`)`);
  return bin;
}

/**
 * A bank rail of a test scenario: ~1 ms answers; time_scale 1000 turns the
 * scenario's seconds into milliseconds (in transit after ~5 ms, paid after
 * ~20 ms); everything paid; callbacks neither dropped, doubled nor late.
 */
export function simBank(name, extra = {}) {
  return {
    name,
    kind: 'bank',
    port: 0,
    secret: `secret-${name}`,
    idempotent: true,
    latency_ms: { min: 0, p50: 1, p99: 3 },
    outage: 'none',
    time_scale: 1000,
    transit_ms: { min: 5000, p50: 5000, p99: 5000 },
    settle_ms: { min: 20000, p50: 20000, p99: 20000 },
    instant_settle_ms: { min: 5000, p50: 5000, p99: 5000 },
    payout_outcomes: { paid: 1 },
    return_after_ms: { min: 20000, p50: 20000, p99: 20000 },
    callback_drop_rate: 0,
    callback_duplicate_rate: 0,
    callback_late_rate: 0,
    ...extra,
  };
}

/** A channel of the test scenario: ~1 ms, always approves, nothing slow or lost. */
export function simChannel(name, kind, extra = {}) {
  return {
    name,
    kind,
    port: 0,
    secret: `secret-${name}`,
    idempotent: true,
    latency_ms: { min: 0, p50: 1, p99: 3 },
    outcomes: { acquirer: { '00': 1 }, wallet_a: { SUCCESS: 1 }, wallet_b: { SUCCESS: 1 } }[kind],
    outage: 'none',
    slow_rate: 0,
    slow_ms: 1000,
    slow_before_execution: false,
    lost_rate: 0,
    ...extra,
  };
}

/** The four channels of the demo: two acquirers (primary, backup) and two wallets. */
export function fourChannels(extra = {}) {
  return [
    simChannel('acq_a', 'acquirer', extra.acq_a),
    simChannel('acq_b', 'acquirer', { idempotent: false, ...extra.acq_b }),
    simChannel('alipay_sim', 'wallet_a', extra.alipay_sim),
    simChannel('wechat_sim', 'wallet_b', extra.wechat_sim),
  ];
}

const METHODS = { acquirer: ['card'], wallet_a: ['alipay'], wallet_b: ['wechat_pay'], bank: ['payout'] };

class Sim {
  constructor(dir, child, ready, scenario) {
    this.dir = dir;
    this.child = child;
    this.admin = ready.admin;
    this.urls = ready.channels;
    this.scenario = scenario;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  async _admin(method, path, body) {
    const res = await fetch(`${this.admin}${path}`, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`payd-sim ${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** Changes a channel while the sim runs (outage, outcomes, latency ...). */
  setChannel(name, patch) {
    return this._admin('POST', `/admin/channels/${name}`, patch);
  }

  books() {
    return this._admin('GET', '/admin/books');
  }

  /** Points every bank rail's callbacks at payd (base URL). */
  async callbacksTo(paydUrl) {
    for (const c of this.scenario.channels.filter((ch) => ch.kind === 'bank')) {
      await this.setChannel(c.name, { callback_url: `${paydUrl}/v1/channel_callbacks/${c.name}` });
    }
  }

  /** payd's config for these channels (priority: scenario order), as an object. */
  paydConfig({ timeoutMs = 2000, routing, breaker, payouts, webhooks, notify } = {}) {
    const channels = this.scenario.channels.map((c, i) => ({
      name: c.name,
      kind: c.kind,
      url: this.urls[c.name],
      secret: c.secret,
      methods: METHODS[c.kind],
      priority: i + 1,
      timeout_ms: timeoutMs,
    }));
    const cfg = { channels };
    if (routing) cfg.routing = routing;
    if (breaker) cfg.breaker = breaker;
    if (payouts) cfg.payouts = payouts;
    if (webhooks) cfg.webhooks = webhooks;
    if (notify) cfg.notify = notify;
    return cfg;
  }

  /** Writes paydConfig(opts) to a file in the sim's directory; returns its path. */
  async writePaydConfig(opts = {}, file = 'payd.json') {
    const path = join(this.dir, file);
    await writeFile(path, JSON.stringify(this.paydConfig(opts), null, 2));
    return path;
  }

  async stop() {
    if (live.has(this.child)) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (live.has(this.child)) this.child.kill('SIGKILL');
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Starts payd-sim with `scenario` ({seed, channels}). */
export async function startSim(scenario) {
  const dir = await mkdtemp(join(tmpdir(), 'payd-sim-'));
  const scenarioPath = join(dir, 'scenario.json');
  const readyPath = join(dir, 'ready.json');
  await writeFile(scenarioPath, JSON.stringify(scenario));
  const child = spawn(
    simBin(),
    ['--scenario', scenarioPath, '--listen', '127.0.0.1:0', '--ready-file', readyPath],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  );
  live.add(child);
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => {
    log = (log + c).slice(-16384);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
  });
  try {
    const ready = await waitFor(
      async () => {
        if (exited) throw new Error(`payd-sim exited before it was ready:\n${log}`);
        if (!existsSync(readyPath)) return undefined;
        return JSON.parse(await readFile(readyPath, 'utf8'));
      },
      { timeoutMs: SIM_START_TIMEOUT_MS, intervalMs: 20, what: 'payd-sim ready file' }
    );
    return new Sim(dir, child, ready, scenario);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
