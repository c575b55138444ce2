// channels: payd's network channels against a real payd-sim — failover on
// a failure that was not executed (ISO 8583 91), none on a payer's decline
// (51), the circuit breaker opening during an outage and closing after it,
// a timeout resolved by the resolver without a second charge, GET
// /v1/channels, and a bad config refused at start.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPayd, paydBin, waitFor, rejection, uniq } from './harness.mjs';
import { startSim, fourChannels } from './sim.mjs';

// A short window and rare probes: the outage's failures soon outweigh
// what the window remembers of the successes before it.
const BREAKER = {
  window_ms: 5000,
  min_volume: 4,
  failure_pct: 50,
  cooldown_ms: 300,
  probe_successes: 2,
  probe_interval_ms: 1000,
};

async function pay(stripe, extra = {}) {
  return stripe.paymentIntents.create(
    { amount: 1500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, ...extra },
    { idempotencyKey: uniq('pay') }
  );
}

async function breakerOf(payd, name) {
  const res = await payd.request('GET', '/v1/channels');
  assert.equal(res.status, 200);
  return res.body.data.find((c) => c.name === name).breaker;
}

function chargesOf(books, channel) {
  return books.channels[channel]?.charges ?? [];
}

describe('network channels against payd-sim', () => {
  let sim;
  let payd;
  let stripe;

  before(async () => {
    sim = await startSim({ seed: 7, channels: fourChannels() });
    const config = await sim.writePaydConfig({ timeoutMs: 400, breaker: BREAKER });
    payd = await startPayd({ args: ['--config', config] });
    stripe = payd.stripe();
  });

  after(async () => {
    await payd?.stop();
    await sim?.stop();
  });

  test('a card payment goes to the primary acquirer', async () => {
    const pi = await pay(stripe);
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.attempts.length, 1);
    assert.equal(pi.attempts[0].channel, 'acq_a');
    assert.equal(pi.attempts[0].raw_code, '00');
    const books = await sim.books();
    const mine = chargesOf(books, 'acq_a').filter((c) => c.reference === pi.latest_charge);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].amount, 1500);
    assert.equal(mine[0].state, 'captured');
  });

  test('manual capture, refund and cancel go through the acquirer and its books', async () => {
    const held = await pay(stripe, { capture_method: 'manual' });
    assert.equal(held.status, 'requires_capture');
    const ref = held.latest_charge;
    const charge = async () =>
      chargesOf(await sim.books(), 'acq_a').find((c) => c.reference === ref);
    assert.equal((await charge()).state, 'authorized');

    const captured = await stripe.paymentIntents.capture(held.id, { amount_to_capture: 1000 });
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 1000);
    assert.equal((await charge()).captured_amount, 1000);

    const refund = await stripe.refunds.create({ payment_intent: held.id, amount: 400 });
    assert.equal(refund.status, 'succeeded');
    const refunds = (await sim.books()).channels.acq_a.refunds.filter((r) => r.reference === refund.id);
    assert.deepEqual(
      refunds.map((r) => [r.payment_reference, r.amount, r.state]),
      [[ref, 400, 'succeeded']]
    );
    const over = await rejection(stripe.refunds.create({ payment_intent: held.id, amount: 601 }));
    assert.equal(over.raw.payd_code, 411);

    const other = await pay(stripe, { capture_method: 'manual' });
    const canceled = await stripe.paymentIntents.cancel(other.id);
    assert.equal(canceled.status, 'canceled');
    const voided = chargesOf(await sim.books(), 'acq_a').find((c) => c.reference === other.latest_charge);
    assert.equal(voided.state, 'voided');
  });

  test('issuer unavailable (91) fails over to the backup acquirer at once', async () => {
    await sim.setChannel('acq_a', { outcomes: { 91: 1 } });
    try {
      const pi = await pay(stripe);
      assert.equal(pi.status, 'succeeded');
      assert.equal(pi.attempts.length, 2);
      assert.deepEqual(
        pi.attempts.map((a) => [a.channel, a.status, a.raw_code]),
        [
          ['acq_a', 'failed', '91'],
          ['acq_b', 'succeeded', '00'],
        ]
      );
      assert.equal(pi.attempts[0].payd_code, 206);
      const books = await sim.books();
      const refs = (ch) => chargesOf(books, ch).filter((c) => c.state === 'captured').map((c) => c.reference);
      assert.ok(!refs('acq_a').includes(pi.attempts[0].id), 'nothing taken on acq_a');
      assert.deepEqual(
        refs('acq_b').filter((r) => r === pi.attempts[1].id),
        [pi.attempts[1].id],
        'taken once on acq_b'
      );
    } finally {
      await sim.setChannel('acq_a', { outcomes: { '00': 1 } });
    }
  });

  test('a 503 from the primary (refused before execution) fails over too', async () => {
    await sim.setChannel('acq_a', { outage: '503' });
    try {
      const pi = await pay(stripe);
      assert.equal(pi.status, 'succeeded');
      assert.deepEqual(
        pi.attempts.map((a) => [a.channel, a.status, a.raw_code]),
        [
          ['acq_a', 'failed', 'HTTP_503'],
          ['acq_b', 'succeeded', '00'],
        ]
      );
      assert.equal(pi.attempts[0].payd_code, 201);
    } finally {
      await sim.setChannel('acq_a', { outage: 'none' });
    }
    // Its failures (and failed probes) may have opened acq_a's breaker:
    // the next tests want it closed again.
    await waitFor(async () => (await breakerOf(payd, 'acq_a')) === 'closed', {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: "acq_a's breaker closed after the 503s",
    });
  });

  test('insufficient funds (51) does not fail over and suggests other methods', async () => {
    await sim.setChannel('acq_a', { outcomes: { 51: 1 } });
    try {
      const before = chargesOf(await sim.books(), 'acq_b').length;
      const err = await rejection(pay(stripe));
      assert.equal(err.statusCode, 402);
      assert.equal(err.raw.payd_code, 101);
      assert.equal(err.raw.decline_code, 'insufficient_funds');
      const pi = err.raw.payment_intent;
      assert.equal(pi.status, 'requires_payment_method');
      assert.equal(pi.attempts.length, 1);
      assert.equal(pi.attempts[0].channel, 'acq_a');
      assert.equal(pi.attempts[0].raw_code, '51');
      assert.deepEqual(pi.last_payment_error.suggested_payment_method_types, ['alipay', 'wechat_pay']);
      assert.equal(chargesOf(await sim.books(), 'acq_b').length, before, 'the backup was not asked');
    } finally {
      await sim.setChannel('acq_a', { outcomes: { '00': 1 } });
    }
  });

  test('a wallet payment goes to its wallet with its own codes', async () => {
    await sim.setChannel('wechat_sim', { outcomes: { NOTENOUGH: 1 } });
    try {
      const err = await rejection(
        stripe.paymentIntents.create(
          { amount: 800, currency: 'cny', payment_method_data: { type: 'wechat_pay' }, confirm: true },
          { idempotencyKey: uniq('wx') }
        )
      );
      assert.equal(err.raw.payd_code, 101);
      assert.equal(err.raw.payment_intent.attempts[0].channel, 'wechat_sim');
      assert.equal(err.raw.payment_intent.attempts[0].raw_code, 'NOTENOUGH');
    } finally {
      await sim.setChannel('wechat_sim', { outcomes: { SUCCESS: 1 } });
    }
    const pi = await stripe.paymentIntents.create(
      { amount: 800, currency: 'cny', payment_method_data: { type: 'alipay' }, confirm: true },
      { idempotencyKey: uniq('ali') }
    );
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.attempts[0].channel, 'alipay_sim');
  });

  test('the breaker opens during an outage and closes after it', async () => {
    const channel = async (name) => {
      const res = await payd.request('GET', '/v1/channels');
      assert.equal(res.status, 200);
      return res.body.data.find((c) => c.name === name);
    };
    assert.equal((await channel('acq_a')).breaker, 'closed');
    await sim.setChannel('acq_a', { outage: 'refuse' });
    try {
      // Refused connections: each payment fails over to acq_b and succeeds,
      // until the failures open acq_a's breaker.
      await waitFor(
        async () => {
          const pi = await pay(stripe);
          assert.equal(pi.status, 'succeeded');
          assert.equal(pi.attempts.at(-1).channel, 'acq_b');
          return (await channel('acq_a')).breaker === 'open';
        },
        { timeoutMs: 20_000, intervalMs: 1, what: "acq_a's breaker open" }
      );
      const open = await channel('acq_a');
      assert.equal(open.state, 'unhealthy');
      // While open, payments go straight to the backup: one attempt each.
      const pi = await pay(stripe);
      assert.equal(pi.status, 'succeeded');
      assert.deepEqual(pi.attempts.map((a) => a.channel), ['acq_b']);
    } finally {
      await sim.setChannel('acq_a', { outage: 'none' });
    }
    // Probes after the cool-down close it again; then acq_a takes payments.
    await waitFor(async () => (await channel('acq_a')).breaker === 'closed', {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: "acq_a's breaker closed after the outage",
    });
    const pi = await pay(stripe);
    assert.deepEqual(pi.attempts.map((a) => a.channel), ['acq_a']);
  });

  test('a timeout stays unknown, is resolved by a query, and is charged once', async () => {
    await sim.setChannel('acq_a', { slow_rate: 1, slow_ms: 1500 });
    let pi;
    try {
      pi = await pay(stripe);
    } finally {
      await sim.setChannel('acq_a', { slow_rate: 0 });
    }
    assert.equal(pi.status, 'processing');
    assert.deepEqual(pi.attempts.map((a) => [a.channel, a.status]), [['acq_a', 'unknown']]);
    const settled = await waitFor(
      async () => {
        const now = await stripe.paymentIntents.retrieve(pi.id);
        return now.status === 'succeeded' ? now : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the resolver settling the timeout' }
    );
    assert.equal(settled.attempts.length, 1, 'no failover while unknown');
    const books = await sim.books();
    const all = Object.values(books.channels).flatMap((c) => c.charges);
    assert.equal(all.filter((c) => c.reference === pi.attempts[0].id).length, 1);
  });

  // Last: its failures may open acq_a's breaker.
  test('when every acquirer is unavailable the payment fails once each has been tried', async () => {
    await sim.setChannel('acq_a', { outcomes: { 91: 1 } });
    await sim.setChannel('acq_b', { outcomes: { 91: 1 } });
    try {
      const err = await rejection(pay(stripe));
      assert.equal(err.raw.payd_code, 206);
      const pi = err.raw.payment_intent;
      assert.equal(pi.status, 'requires_payment_method');
      assert.deepEqual(pi.attempts.map((a) => [a.channel, a.status]), [
        ['acq_a', 'failed'],
        ['acq_b', 'failed'],
      ]);
      assert.equal(pi.last_payment_error.channel, 'acq_b');
      // A new confirmation starts a new round (acq_a may be out of routing
      // by now: its breaker has seen these failures).
      await sim.setChannel('acq_b', { outcomes: { '00': 1 } });
      const again = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
      assert.equal(again.status, 'succeeded');
      assert.equal(again.attempts.at(-1).channel, 'acq_b');
      assert.ok(again.attempts.length >= 3);
    } finally {
      await sim.setChannel('acq_a', { outcomes: { '00': 1 } });
      await sim.setChannel('acq_b', { outcomes: { '00': 1 } });
    }
  });

  test('GET /v1/channels lists every channel, never a secret', async () => {
    const res = await payd.request('GET', '/v1/channels');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.data.map((c) => c.name),
      ['acq_a', 'acq_b', 'alipay_sim', 'wechat_sim']
    );
    assert.ok(!res.text.includes('secret-acq_a'));
    const a = res.body.data[0];
    assert.equal(a.kind, 'acquirer');
    assert.ok(a.latency_ms && 'p50' in a.latency_ms && 'p99' in a.latency_ms);
  });
});

test('a bad config is refused at start with the field named', async () => {
  const dir = process.env.TMPDIR ?? '/tmp';
  const path = join(dir, `payd-bad-${process.pid}.json`);
  await writeFile(
    path,
    JSON.stringify({ channels: [{ name: 'acq_a', kind: 'acquirer', url: 'http://127.0.0.1:1', secret: 's', timeout_ms: -5 }] })
  );
  const { code, stderr } = await new Promise((resolve) =>
    execFile(paydBin(), ['serve', '--config', path, '--db', join(dir, `payd-bad-${process.pid}.db`), '--listen', '127.0.0.1:0'], (err, _out, errText) =>
      resolve({ code: err ? err.code : 0, stderr: errText })
    )
  );
  await rm(path, { force: true });
  assert.equal(code, 2);
  assert.match(stderr, /channels\[0\]\.timeout_ms/);
});
