// durability: a 2xx answer survives `kill -9` of the server right after
// it (promise 4), an attempt in flight at the crash is resolved by a query
// after the restart and never charged twice (promise 5), idempotency keys
// survive the crash, and SIGTERM answers what it took before exiting.

import { describe, it, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPayd, waitFor, balanceOf, uniq } from './harness.mjs';

const ROUNDS = 5;

/** Every intent of the merchant, once no intent is processing any more. */
async function settledIntents(stripe) {
  return waitFor(
    async () => {
      const all = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
      return all.every((pi) => pi.status !== 'processing') && all;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'every intent settled' }
  );
}

/** The ledger agrees with the intents: available = received - refunded, per currency. */
async function assertBooksBalance(stripe, currency) {
  const all = (await settledIntents(stripe)).filter((pi) => pi.currency === currency);
  const expected = all.reduce((s, pi) => s + pi.amount_received - pi.amount_refunded, 0);
  const pendingExpected = all
    .filter((pi) => pi.status === 'requires_capture')
    .reduce((s, pi) => s + pi.amount_capturable, 0);
  const bal = await balanceOf(stripe, currency);
  assert.equal(bal.available, expected, `available ${currency} = received - refunded`);
  assert.equal(bal.pending, pendingExpected, `pending ${currency} = authorized, not captured`);
}

describe('durability across kill -9 (stripe-node)', () => {
  let payd;

  before(async () => {
    payd = await startPayd({ merchants: ['durable'] });
  });
  beforeEach(async () => {
    // A test that failed half-way may have left payd killed.
    if (!payd.running) await payd.restart();
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it(`a payment (and a refund) acknowledged with 200 survives SIGKILL right after the reply, ${ROUNDS} times`, async () => {
    const acknowledged = [];
    for (let round = 0; round < ROUNDS; round++) {
      let stripe = payd.stripe();
      const pi = await stripe.paymentIntents.create({
        amount: 1000 + round,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        confirm: true,
        metadata: { round: String(round) },
      });
      await payd.kill9(); // the reply is in hand: kill at once
      assert.equal(pi.lastResponse.statusCode, 200);
      assert.equal(pi.status, 'succeeded');
      acknowledged.push(pi);

      await payd.restart();
      stripe = payd.stripe();
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.status, 'succeeded', `round ${round}`);
      assert.equal(got.amount_received, pi.amount);
      assert.equal(got.attempts.length, 1);
      assert.equal(got.metadata.round, String(round));

      if (round % 2 === 1) {
        const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 300 });
        await payd.kill9();
        assert.equal(refund.status, 'succeeded');
        await payd.restart();
        stripe = payd.stripe();
        const r = await stripe.refunds.retrieve(refund.id);
        assert.equal(r.status, 'succeeded');
        assert.equal(r.amount, 300);
        assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 300);
        pi.refunded = 300;
      }
    }
    const stripe = payd.stripe();
    for (const pi of acknowledged) {
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.status, 'succeeded');
      assert.equal(got.amount_refunded, pi.refunded ?? 0);
    }
    const succeeded = await stripe.events
      .list({ type: 'payment_intent.succeeded', limit: 100 })
      .autoPagingToArray({ limit: 10_000 });
    for (const pi of acknowledged) {
      assert.equal(succeeded.filter((e) => e.data.object.id === pi.id).length, 1, `one succeeded event for ${pi.id}`);
    }
    await assertBooksBalance(stripe, 'usd');
  });

  it('under a burst, every acknowledged payment survives SIGKILL and the books still balance', async () => {
    const cur = 'eur';
    let stripe = payd.stripe();
    const acknowledged = [];
    const errors = [];
    let killing = null;
    const burst = Array.from({ length: 40 }, (_, i) =>
      stripe.paymentIntents
        .create({ amount: 500 + i, currency: cur, payment_method: 'pm_card_visa', confirm: true })
        .then(
          (pi) => {
            acknowledged.push(pi);
            if (acknowledged.length === 10) killing = payd.kill9();
          },
          (err) => errors.push(err)
        )
    );
    await Promise.all(burst);
    if (!killing) killing = payd.kill9(); // everything came back first
    await killing;
    assert.ok(
      acknowledged.length >= 10,
      `only ${acknowledged.length} acknowledged; errors: ${errors.slice(0, 3).map((e) => `${e.statusCode} ${e.message}`)}`
    );
    // Before the kill every request was answered with a success.
    for (const err of errors) assert.equal(err.statusCode, undefined, `refused before the kill: ${err.message}`);

    await payd.restart();
    stripe = payd.stripe();
    for (const pi of acknowledged) {
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.status, 'succeeded', pi.id);
      assert.equal(got.amount_received, pi.amount);
      assert.equal(got.attempts.length, 1, 'charged once');
    }
    // Those not acknowledged may or may not exist, but none is charged twice
    // and every one settles.
    for (const pi of await settledIntents(stripe)) {
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.ok(got.attempts.length <= 1, `${pi.id} has ${got.attempts.length} attempts`);
      assert.ok(got.amount_received === 0 || got.amount_received === got.amount);
    }
    await assertBooksBalance(stripe, cur);
  });

  it('an attempt whose outcome was unknown at the crash is resolved after restart, charged once', async () => {
    const cur = 'gbp';
    let stripe = payd.stripe();
    const pi = await stripe.paymentIntents.create({
      amount: 2222,
      currency: cur,
      confirm: true,
      payment_method_data: { type: 'card', card: { number: '4000000000400202', exp_month: 12, exp_year: 2031 } },
    });
    await payd.kill9(); // before the resolver's first query
    assert.equal(pi.status, 'processing');
    await payd.restart();
    stripe = payd.stripe();
    const afterRestart = await stripe.paymentIntents.retrieve(pi.id);
    assert.ok(['processing', 'succeeded'].includes(afterRestart.status), afterRestart.status);
    assert.equal(afterRestart.amount_received, afterRestart.status === 'succeeded' ? 2222 : 0);
    const done = await waitFor(
      async () => {
        const x = await stripe.paymentIntents.retrieve(pi.id);
        return x.status !== 'processing' && x;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the unknown attempt resolved after restart' }
    );
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 2222);
    assert.equal(done.attempts.length, 1, 'resolved by a query, never sent again');
    await assertBooksBalance(stripe, cur);
  });

  it('an idempotency key survives the crash: the replay names the same payment', async () => {
    let stripe = payd.stripe();
    const key = uniq('durable');
    const params = { amount: 4100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    await payd.kill9();
    await payd.restart();
    stripe = payd.stripe();
    const again = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    assert.equal(again.id, first.id);
    assert.equal(again.status, 'succeeded');
    assert.equal((await stripe.paymentIntents.retrieve(first.id)).attempts.length, 1);
    await assertBooksBalance(stripe, 'usd');
  });

  it('SIGTERM with requests in flight: payd exits 0 and what it acknowledged is kept', async () => {
    const cur = 'cad';
    let stripe = payd.stripe();
    const acknowledged = [];
    const refusals = [];
    let stopping = null;
    const burst = Array.from({ length: 30 }, (_, i) =>
      stripe.paymentIntents
        .create({ amount: 300 + i, currency: cur, payment_method: 'pm_card_visa', confirm: true })
        .then(
          (pi) => {
            acknowledged.push(pi);
            if (!stopping) {
              stopping = payd.terminate({ timeoutMs: 10_000 });
              stopping.catch(() => {}); // awaited below
            }
          },
          (err) => {
            // Taken too late: refused (503 shutting down) or the connection closed.
            if (err.statusCode !== undefined) refusals.push(err);
          }
        )
    );
    await Promise.all(burst);
    const { code, signal } = await (stopping ?? payd.terminate());
    assert.equal(signal, null);
    assert.equal(code, 0, 'clean exit on SIGTERM');
    for (const err of refusals) assert.equal(err.statusCode, 503, String(err));

    await payd.restart();
    stripe = payd.stripe();
    for (const pi of acknowledged) {
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.status, 'succeeded');
      assert.equal(got.amount_received, pi.amount);
    }
    await assertBooksBalance(stripe, cur);
  });

  it('SIGTERM: a request that arrives on a kept-alive connection during shutdown is answered, and payd exits', async () => {
    // A client connection opened before SIGTERM stays open while payd
    // drains; a request sent on it after the engine has stopped must get an
    // answer (503 shutting_down) or a closed connection, never a hang.
    const first = await payd.request('GET', '/v1/balance');
    assert.equal(first.status, 200);
    const exit = payd.terminate({ timeoutMs: 10_000, closeIdle: false });
    exit.catch(() => {}); // awaited below
    await payd.waitForLog(/"event":"engine_stopped"/);
    const late = await payd
      .request('POST', '/v1/payment_intents', {
        body: { amount: 100, currency: 'usd', payment_method: 'pm_card_visa', confirm: 'true' },
      })
      .then(
        (res) => res,
        (err) => ({ connectionError: err.code ?? err.message })
      );
    const { code, signal } = await exit;
    assert.equal(signal, null);
    assert.equal(code, 0, 'clean exit on SIGTERM');
    if (!late.connectionError) {
      assert.equal(late.status, 503, late.text);
      assert.equal(late.body.error.payd_code, 503);
    }
  });
});
