// concurrency: many refunds of the same payment at once never refund more
// than was captured (promise 3).  Every request is a real HTTP request
// through stripe-node, all in flight together.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, balanceOf } from './harness.mjs';

const { StripeInvalidRequestError } = Stripe.errors;

/** Fires `amounts.length` refunds of `pi` at once; returns the settled results. */
function refundStorm(stripe, pi, amounts) {
  return Promise.allSettled(amounts.map((amount) => stripe.refunds.create({ payment_intent: pi, amount })));
}

/** Checks one storm's outcome against what payd reports afterwards. */
async function checkStorm(stripe, pi, captured, amounts, results) {
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  assert.equal(ok.length + failed.length, amounts.length);
  for (const err of failed) {
    assert.ok(err instanceof StripeInvalidRequestError, `a refund failed with ${err}`);
    assert.equal(err.statusCode, 400);
    assert.ok(
      [411, 418].includes(err.raw.payd_code),
      `refused with payd_code ${err.raw.payd_code} (${err.message})`
    );
  }
  for (const r of ok) {
    assert.equal(r.status, 'succeeded');
    assert.equal(r.payment_intent, pi);
  }
  const sumOk = ok.reduce((s, r) => s + r.amount, 0);
  assert.ok(sumOk <= captured, `refunded ${sumOk} of ${captured}`);

  const intent = await stripe.paymentIntents.retrieve(pi);
  assert.equal(intent.amount_refunded, sumOk, 'the server reports what was acknowledged');
  const listed = await stripe.refunds.list({ payment_intent: pi, limit: 100 }).autoPagingToArray({ limit: 1000 });
  assert.deepEqual(listed.map((r) => r.id).sort(), ok.map((r) => r.id).sort(), 'the list holds exactly the acknowledged refunds');
  assert.equal(
    listed.reduce((s, r) => s + r.amount, 0),
    sumOk
  );
  // Every refused amount was more than what remained at the end (what
  // remains only shrinks, so it was more than what remained when refused).
  const remaining = captured - sumOk;
  for (const err of failed) {
    const amount = amounts[results.findIndex((r) => r.reason === err)];
    assert.ok(amount > remaining, `a refund of ${amount} was refused while ${remaining} remained`);
  }
  return { ok, failed, sumOk };
}

describe('concurrent refunds (stripe-node)', () => {
  let payd, stripe;

  before(async () => {
    payd = await startPayd({ merchants: ['concurrency'] });
    stripe = payd.stripe();
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it('50 refunds of 300 fired at once on a payment of 10000: exactly 33 succeed', async () => {
    const cur = 'usd';
    const pi = await stripe.paymentIntents.create({
      amount: 10_000,
      currency: cur,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(pi.status, 'succeeded');
    const b0 = await balanceOf(stripe, cur);

    const amounts = Array(50).fill(300);
    const results = await refundStorm(stripe, pi.id, amounts);
    const { ok, failed, sumOk } = await checkStorm(stripe, pi.id, 10_000, amounts, results);
    assert.equal(ok.length, 33);
    assert.equal(failed.length, 17);
    assert.equal(sumOk, 9900);
    for (const err of failed) assert.equal(err.raw.payd_code, 411, err.message);
    const b1 = await balanceOf(stripe, cur);
    assert.equal(b0.available - b1.available, 9900, 'the balance moved by what was refunded');

    // The 100 left can still be refunded, once.
    const last = await Promise.allSettled([
      stripe.refunds.create({ payment_intent: pi.id }),
      stripe.refunds.create({ payment_intent: pi.id }),
      stripe.refunds.create({ payment_intent: pi.id }),
    ]);
    const lastOk = last.filter((r) => r.status === 'fulfilled');
    assert.equal(lastOk.length, 1);
    assert.equal(lastOk[0].value.amount, 100);
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 10_000);
  });

  it('storms on several payments in parallel stay exact for each payment', async () => {
    const cur = 'eur';
    const payments = await Promise.all(
      Array.from({ length: 4 }, () =>
        stripe.paymentIntents.create({ amount: 10_000, currency: cur, payment_method: 'pm_card_visa', confirm: true })
      )
    );
    for (const pi of payments) assert.equal(pi.status, 'succeeded');
    const b0 = await balanceOf(stripe, cur);

    const amounts = Array(50).fill(300);
    const storms = await Promise.all(payments.map((pi) => refundStorm(stripe, pi.id, amounts)));
    let total = 0;
    for (let i = 0; i < payments.length; i++) {
      const { ok, sumOk } = await checkStorm(stripe, payments[i].id, 10_000, amounts, storms[i]);
      assert.equal(ok.length, 33, `payment ${i}`);
      total += sumOk;
    }
    const b1 = await balanceOf(stripe, cur);
    assert.equal(b0.available - b1.available, total);
  });

  it('refunds of mixed amounts at once never exceed the captured amount', async () => {
    const cur = 'gbp';
    const captured = 7_777;
    const pi = await stripe.paymentIntents.create({
      amount: captured,
      currency: cur,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    // A fixed, varied list (no randomness: the same run every time).
    const amounts = Array.from({ length: 60 }, (_, i) => 50 + ((i * 397) % 601));
    const results = await refundStorm(stripe, pi.id, amounts);
    const { sumOk } = await checkStorm(stripe, pi.id, captured, amounts, results);
    assert.ok(sumOk > 0);
  });

  it('concurrent refunds of a partially captured payment stop at the captured amount', async () => {
    const auth = await stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    assert.equal(auth.status, 'requires_capture');
    const captured = await stripe.paymentIntents.capture(auth.id, { amount_to_capture: 3_000 });
    assert.equal(captured.amount_received, 3_000);
    const amounts = Array(30).fill(250);
    const results = await refundStorm(stripe, auth.id, amounts);
    const { ok } = await checkStorm(stripe, auth.id, 3_000, amounts, results);
    assert.equal(ok.length, 12);
  });
});
