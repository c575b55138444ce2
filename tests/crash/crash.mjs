// crash: payd killed with SIGKILL at random moments while it takes card
// payments through payd-sim's acquirers (a mix with timeouts — answers
// late after the charge, or charges made late — lost answers and
// issuer-unavailable failovers to a backup that does not honour
// idempotency keys), restarted each time on the same database.  When the load is over and the resolver has settled every
// attempt, `payd check-books` compares payd's books with payd-sim's:
// every charge matches exactly one succeeded payment, every payment a
// client was told succeeded is in both, nothing is charged twice, and the
// ledger balances.  Every event goes as a webhook to a receiver that
// refuses a fifth of the deliveries: once everything has settled, every
// event payd wrote must have reached it, with a signature the stripe
// client's webhooks.constructEvent accepts — also the events whose
// deliveries were under way when payd was killed.  It prints the counts
// and exits 1 on any mismatch.
//
// Size (CI keeps it short): CRASH_PAYMENTS (default 2000), CRASH_KILLS
// (default 4), CRASH_CONCURRENCY (default 16), CRASH_SEED.
// Run by `make crash` (part of `make test`) with PAYD_BIN and SIM_BIN set.

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startPayd, paydBin, waitFor, formEncode } from '../e2e/harness.mjs';
import { createRequire } from 'node:module';
import { startSim, fourChannels, simBank } from '../e2e/sim.mjs';
import { startReceiver } from '../e2e/receiver.mjs';

const Stripe = createRequire(new URL('../e2e/package.json', import.meta.url))('stripe');
const verifier = new Stripe('sk_test_unused');

const PAYMENTS = Number(process.env.CRASH_PAYMENTS ?? 2000);
const PAYOUTS = Number(process.env.CRASH_PAYOUTS ?? 300);
const KILLS = Number(process.env.CRASH_KILLS ?? 4);
const CONCURRENCY = Number(process.env.CRASH_CONCURRENCY ?? 16);
const RETRIES = 20; // per payment, across restarts
const SETTLE_TIMEOUT_MS = 120_000;

// A deterministic PRNG (mulberry32) so that a failing run can be repeated.
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
let seed = SEED;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const counts = { acked: 0, declined: 0, processing: 0, gave_up: 0, retried: 0, kills: 0,
  payouts_acked: 0, payouts_refused: 0 };
const CN_ACCOUNT = { account_number: '6222020200112233446', account_holder_name: 'Li Lei', country: 'CN', bank_code: 'ICBKCNBJ' };
const acked = [];

async function onePayment(payd, i) {
  const key = `crash-${i}-${SEED}`;
  const body = formEncode({ amount: 1000 + (i % 500), currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    try {
      const res = await payd.request('POST', '/v1/payment_intents', {
        body,
        headers: { 'Idempotency-Key': key },
      });
      if (res.status === 200 && res.body.status === 'succeeded') {
        counts.acked++;
        acked.push(res.body.id);
      } else if (res.status === 200) {
        counts.processing++;
      } else if (res.status === 402) {
        counts.declined++;
      } else if (res.status === 409 || res.status >= 500) {
        counts.retried++;
        await delay(50 + random() * 200);
        continue;
      } else {
        throw new Error(`payment ${i}: unexpected ${res.status} ${res.text.slice(0, 300)}`);
      }
      return;
    } catch (err) {
      if (err.message.startsWith('payment ')) throw err;
      counts.retried++; // payd is down: the same request again, same key
      await delay(50 + random() * 200);
    }
  }
  counts.gave_up++;
}

// One payout, retried with its Idempotency-Key while payd is down.
async function onePayout(payd, i) {
  const key = `crash-po-${i}-${SEED}`;
  const body = formEncode({ amount: 100 + (i % 50), currency: 'cny', bank_account: CN_ACCOUNT });
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    try {
      const res = await payd.request('POST', '/v1/payouts', { body, headers: { 'Idempotency-Key': key } });
      if (res.status === 200) counts.payouts_acked++;
      else if (res.status === 409 || res.status >= 500) {
        await delay(50 + random() * 200);
        continue;
      } else counts.payouts_refused++;
      return;
    } catch {
      await delay(50 + random() * 200); // payd is down
    }
  }
}

async function payoutLoad(payd) {
  let next = 0;
  const worker = async () => {
    while (next < PAYOUTS) await onePayout(payd, next++);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

// At least PAYMENTS payments, and more until every kill has happened.
async function load(payd, killsDone) {
  let next = 0;
  const worker = async () => {
    while (next < PAYMENTS || !killsDone.value) await onePayment(payd, next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return next;
}

async function killer(payd, sim, killsDone) {
  for (let k = 0; k < KILLS; k++) {
    await delay(200 + random() * 1200);
    await payd.kill9();
    counts.kills++;
    await delay(random() * 300);
    await payd._spawn(); // the same database, a new process (a new port:
    await sim.callbacksTo(payd.url); // callbacks sent meanwhile are lost)
  }
  killsDone.value = true;
}

function unsettled(db) {
  const sql =
    'SELECT (SELECT count(*) FROM payment_attempts WHERE status IN (0, 2, 6)) + ' +
    '(SELECT count(*) FROM refunds WHERE status = 0) + ' +
    '(SELECT count(*) FROM payouts WHERE status IN (0, 1));';
  return new Promise((resolve, reject) =>
    execFile('sqlite3', [db, sql], (err, out) => (err ? reject(err) : resolve(Number(out.trim()))))
  );
}

function eventIds(db) {
  return new Promise((resolve, reject) =>
    execFile('sqlite3', [db, 'SELECT id FROM events;'], { maxBuffer: 64 << 20 }, (err, out) =>
      err ? reject(err) : resolve(out.split('\n').filter(Boolean)))
  );
}

/** Waits until the receiver has accepted every event payd wrote; returns the figures. */
async function webhookFigures(payd, hooks, secret) {
  const ids = await eventIds(payd.db);
  const accepted = new Map();
  let badSignatures = 0;
  let seen = 0; // requests before this one are answered and counted
  const covered = (requests) => {
    for (; seen < requests.length && requests[seen].answeredAt !== undefined; seen++) {
      const r = requests[seen];
      if (r.status !== 200 || !r.json) continue;
      try {
        verifier.webhooks.constructEvent(r.raw, r.headers['stripe-signature'], secret);
        if (!accepted.has(r.json.id)) accepted.set(r.json.id, r.at);
      } catch {
        badSignatures++;
      }
    }
    return ids.every((id) => accepted.has(id));
  };
  await hooks.waitFor(covered, SETTLE_TIMEOUT_MS, 'every event at the webhook receiver').catch(() => null);
  const lostIds = ids.filter((id) => !accepted.has(id));
  for (const id of lostIds.slice(0, 5)) {
    const rows = await new Promise((resolve) =>
      execFile('sqlite3', [payd.db, `SELECT e.type, e.created_ms, d.id, d.state, d.attempts, d.next_ms, d.last_status, d.last_error FROM events e LEFT JOIN deliveries d ON d.event_id = e.id WHERE e.id = '${id}';`],
        (err, out) => resolve(err ? String(err) : out.trim())));
    const seen = hooks.requests.filter((r) => r.json?.id === id).map((r) => r.status);
    console.error(`webhook not received: ${id}: ${rows} (receiver saw ${JSON.stringify(seen)})`);
  }
  return {
    events: ids.length,
    requests: hooks.requests.length,
    refused: hooks.requests.filter((r) => r.status !== 200).length,
    received: ids.filter((id) => accepted.has(id)).length,
    bad_signatures: badSignatures,
    lost: ids.filter((id) => !accepted.has(id)).length,
  };
}

function checkBooks(db, admin, ackedFile) {
  return new Promise((resolve) =>
    execFile(paydBin(), ['check-books', '--db', db, '--sim', admin, '--acked', ackedFile, '--json'], (err, out, errText) =>
      resolve({ code: err ? err.code : 0, report: out.trim() ? JSON.parse(out) : null, stderr: errText })
    )
  );
}

async function main() {
  const sim = await startSim({
    seed: SEED % 1000,
    channels: [...fourChannels({
      acq_a: {
        latency_ms: { min: 0, p50: 2, p99: 20 },
        outcomes: { '00': 90, 51: 4, '05': 2, 91: 4 },
        slow_rate: 0.03,
        slow_ms: 900,
        lost_rate: 0.03,
      },
      // The backup does not honour idempotency keys, and its slow answers
      // are executed late (a query meanwhile says "processing").
      acq_b: {
        latency_ms: { min: 0, p50: 2, p99: 20 },
        slow_rate: 0.05,
        slow_ms: 900,
        slow_before_execution: true,
        lost_rate: 0.02,
      },
    }),
    // Bank rails: the primary loses some answers and answers some late;
    // the backup does not honour idempotency keys.
    simBank('bank_a', { lost_rate: 0.05, slow_rate: 0.05, slow_ms: 900, payout_outcomes: { paid: 95, 'failed:AC04': 5 } }),
    simBank('bank_b', { idempotent: false, lost_rate: 0.05 })],
  });
  let payd;
  let ok = false;
  const hooks = await startReceiver(() => ({ status: random() < 0.2 ? 500 : 200 }));
  try {
    const config = await sim.writePaydConfig({
      timeoutMs: 300,
      payouts: { poll_first_ms: 200, poll_max_ms: 1000, arrival_grace_ms: 60000, escalate_ms: 60000 },
      webhooks: { allow_private_networks: true, backoff_first_ms: 100, backoff_max_ms: 1000, timeout_ms: 2000 },
    });
    payd = await startPayd({ args: ['--config', config] });
    await sim.callbacksTo(payd.url);
    const endpoint = await payd.request('POST', '/v1/webhook_endpoints', {
      body: formEncode({ url: hooks.url, enabled_events: ['*'] }),
    });
    if (endpoint.status !== 200) throw new Error(`webhook endpoint: ${endpoint.text}`);
    // Funds for the payouts, before the first kill (the acquirer's mix
    // declines some payments: try again until one succeeds).
    const fund = await waitFor(async () => {
      const res = await payd.request('POST', '/v1/payment_intents', {
        body: formEncode({ amount: 100000000, currency: 'cny', payment_method: 'pm_card_visa', confirm: true }),
      });
      return res.body?.status === 'succeeded' ? res : undefined;
    }, { timeoutMs: 30_000, intervalMs: 10, what: 'a funding payment' });
    acked.push(fund.body.id);
    const started = Date.now();
    const killsDone = { value: false };
    const killing = killer(payd, sim, killsDone);
    const [made] = await Promise.all([load(payd, killsDone), payoutLoad(payd)]);
    await killing;
    if (!payd.running) await payd._spawn();
    const loadMs = Date.now() - started;
    await waitFor(async () => (await unsettled(payd.db)) === 0, {
      timeoutMs: SETTLE_TIMEOUT_MS,
      intervalMs: 200,
      what: 'every attempt, refund and payout settled',
    });
    const ackedFile = join(sim.dir, 'acked.txt');
    await writeFile(ackedFile, acked.join('\n') + '\n');
    const { code, report, stderr } = await checkBooks(payd.db, sim.admin, ackedFile);
    const webhooks = await webhookFigures(payd, hooks, endpoint.body.secret);
    const summary = { payments: made, seed: SEED, load_ms: loadMs, ...counts, books: report, webhooks };
    console.log(JSON.stringify(summary, null, 2));
    if (!report) throw new Error(`payd check-books failed: ${stderr}`);
    const po = report.payouts;
    ok = code === 0 && report.charged_twice === 0 && report.acked_missing === 0 && report.missing === 0 &&
      report.unmatched_charges === 0 && report.ledger_balanced && counts.kills === KILLS &&
      po.executed_twice === 0 && po.unmatched === 0 && po.missing === 0 &&
      webhooks.lost === 0 && webhooks.bad_signatures === 0;
    if (!ok) console.error('crash test: FAILED (see the counts above)');
    else
      console.error(
        `crash test: ok (${counts.kills} kills, ${report.matched} charges matched, none twice; ` +
          `${po.matched} payouts matched, none executed twice; ${webhooks.received} of ` +
          `${webhooks.events} events delivered, ${webhooks.requests} webhook requests, none lost)`
      );
  } finally {
    await payd?.stop().catch((err) => console.error(err.message));
    await sim.stop();
    await hooks.close();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
