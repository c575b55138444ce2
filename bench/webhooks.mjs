// bench/webhooks.mjs — delivery figures with a flaky receiver (`make
// bench-webhooks`).  Prints figures, asserts no time.
//
// payd (sandbox channel) on a fresh database, two webhook endpoints on
// loopback receivers:
//   flaky: answers 500 to 30% of requests and stalls past the delivery
//          timeout on 5% (seeded, so runs compare);
//   slow:  always stalls past the timeout — it must not delay the other.
// N card payments are made (each gives payment_intent.created and
// .succeeded).  When every event the API lists has been accepted by the
// flaky receiver (each verified with the stripe client's
// webhooks.constructEvent), it prints: events, attempts, retries, the
// delay from the payment's answer to the event's accepted delivery
// (p50 / p99 / max), how many the slow endpoint got, and lost events.
//
// Knobs: BENCH_WEBHOOK_PAYMENTS (default 500), PAYD_BIN (default ./payd).

import { createRequire } from 'node:module';
import { resolve } from 'node:path';

process.env.PAYD_BIN ??= resolve('payd');
const require = createRequire(new URL('../tests/e2e/package.json', import.meta.url));
const Stripe = require('stripe');
const { startPaydWithConfig, uniq } = await import('../tests/e2e/harness.mjs');
const { startReceiver } = await import('../tests/e2e/receiver.mjs');

const PAYMENTS = Number(process.env.BENCH_WEBHOOK_PAYMENTS ?? 500);
const TIMEOUT_MS = 1000;
const FAIL_RATE = Number(process.env.BENCH_WEBHOOK_FAIL ?? 0.3);
const STALL_RATE = Number(process.env.BENCH_WEBHOOK_STALL ?? 0.05);
const verifier = new Stripe('sk_test_unused');

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

const flaky = await startReceiver(() => {
  const r = random();
  if (r < FAIL_RATE) return { status: 500, body: "flaky" };
  if (r < FAIL_RATE + STALL_RATE) return { status: 200, delayMs: TIMEOUT_MS + 500 };
  return { status: 200 };
});
const slow = await startReceiver(() => ({ status: 200, delayMs: TIMEOUT_MS + 500 }));

const payd = await startPaydWithConfig({
  webhooks: { timeout_ms: TIMEOUT_MS, backoff_first_ms: 200, backoff_max_ms: 3000, per_endpoint: 8,
              allow_private_networks: true, disable_after_failures: 100000 },
});
const stripe = payd.stripe();

try {
  const ep = await stripe.webhookEndpoints.create({ url: flaky.url, enabled_events: ['*'] });
  await stripe.webhookEndpoints.create({ url: slow.url, enabled_events: ['*'] });
  const answeredAt = new Map();
  const started = Date.now();
  const queue = Array.from({ length: PAYMENTS }, (_, i) => i);
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (queue.length) {
      queue.pop();
      const pi = await stripe.paymentIntents.create(
        { amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
        { idempotencyKey: uniq('wb') });
      answeredAt.set(pi.id, Date.now());
    }
  }));
  const paid = Date.now();

  // Every event the API lists.
  const events = [];
  for (let after = null; ;) {
    const page = await payd.request('GET', `/v1/events?limit=100${after ? `&starting_after=${after}` : ''}`);
    events.push(...page.body.data);
    if (!page.body.has_more) break;
    after = page.body.data.at(-1).id;
  }
  const wanted = new Set(events.map((e) => e.id));
  const acceptedAt = new Map();
  const done = () => {
    for (const r of flaky.requests) {
      if (!r.json || acceptedAt.has(r.json.id) || r.status !== 200 || r.delayMs) continue;
      verifier.webhooks.constructEvent(r.raw, r.headers['stripe-signature'], ep.secret);
      acceptedAt.set(r.json.id, { at: r.at, pi: r.json.data.object.id });
    }
    return [...wanted].every((id) => acceptedAt.has(id));
  };
  await flaky.waitFor(done, 600_000, 'every event accepted');
  const delays = [...acceptedAt.values()].map((a) => a.at - answeredAt.get(a.pi)).sort((a, b) => a - b);
  const pct = (p) => delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))];
  const tried = flaky.requests.length;
  console.log(`payments:            ${PAYMENTS} in ${paid - started} ms`);
  console.log(`events:              ${wanted.size}`);
  console.log(`flaky attempts:      ${tried} (${tried - wanted.size} retries: 500s and timeouts)`);
  console.log(`accepted, verified:  ${acceptedAt.size} (stripe webhooks.constructEvent)`);
  console.log(`delay to delivery:   p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${delays.at(-1)} ms`);
  console.log(`slow endpoint got:   ${slow.requests.length} requests (every one timed out)`);
  console.log(`lost:                ${[...wanted].filter((id) => !acceptedAt.has(id)).length}`);
} finally {
  await payd.stop();
  await flaky.close();
  await slow.close();
}
