// refunds: partial refunds until fully refunded, the over-refund error,
// the default amount, a refund that the channel fails (pm_card_refundFail),
// listing by payment_intent, the balance, and the refund events.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, catalog, rejection, waitFor, balanceOf } from './harness.mjs';

const { StripeInvalidRequestError } = Stripe.errors;

async function pay(stripe, amount, currency = 'usd', payment_method = 'pm_card_visa') {
  const pi = await stripe.paymentIntents.create({ amount, currency, payment_method, confirm: true });
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, amount);
  return pi;
}

describe('refunds (stripe-node)', () => {
  let payd, stripe, cat;

  before(async () => {
    payd = await startPayd({ merchants: ['refunds'] });
    stripe = payd.stripe();
    cat = await catalog();
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it('partial refunds repeat until the payment is fully refunded', async () => {
    const cur = 'usd';
    const b0 = await balanceOf(stripe, cur);
    const pi = await pay(stripe, 1000, cur);
    assert.equal((await balanceOf(stripe, cur)).available - b0.available, 1000);

    let refunded = 0;
    for (const amount of [100, 250, 400, 250]) {
      const r = await stripe.refunds.create({
        payment_intent: pi.id,
        amount,
        reason: 'requested_by_customer',
        metadata: { step: String(refunded) },
      });
      refunded += amount;
      assert.match(r.id, /^re_/);
      assert.equal(r.object, 'refund');
      assert.equal(r.status, 'succeeded');
      assert.equal(r.amount, amount);
      assert.equal(r.currency, cur);
      assert.equal(r.payment_intent, pi.id);
      assert.equal(r.reason, 'requested_by_customer');
      assert.deepEqual(r.metadata, { step: String(refunded - amount) });
      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.amount_refunded, refunded);
      assert.equal((await balanceOf(stripe, cur)).available - b0.available, 1000 - refunded);
      assert.deepEqual(await stripe.refunds.retrieve(r.id), r);
    }
    assert.equal(refunded, 1000);

    // Nothing remains: another refund is refused and changes nothing.
    for (const params of [{ amount: 1 }, {}]) {
      const err = await rejection(stripe.refunds.create({ payment_intent: pi.id, ...params }));
      assert.ok(err instanceof StripeInvalidRequestError, String(err));
      assert.equal(err.statusCode, 400);
      assert.ok([411, 418].includes(err.raw.payd_code), `payd_code ${err.raw.payd_code}`);
    }
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 1000);
    assert.equal((await balanceOf(stripe, cur)).available, b0.available);
  });

  it('asking for more than remains is a 400 refund_exceeds_remaining (411) and changes nothing', async () => {
    const row = cat.get(411);
    assert.equal(row.slug, 'refund_exceeds_remaining');
    const pi = await pay(stripe, 1000);
    const over = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 1001 }));
    assert.ok(over instanceof StripeInvalidRequestError, String(over));
    assert.equal(over.statusCode, 400);
    assert.equal(over.statusCode, row.http_status);
    assert.equal(over.rawType, row.type);
    assert.equal(over.code, row.stripe_code);
    assert.equal(over.raw.payd_code, 411);
    assert.equal(over.raw.user_message, row.message_en);
    assert.equal(over.param, 'amount');

    await stripe.refunds.create({ payment_intent: pi.id, amount: 600 });
    const over2 = await rejection(
      stripe.refunds.create({ payment_intent: pi.id, amount: 401 }, { headers: { 'Accept-Language': 'zh-CN' } })
    );
    assert.ok(over2 instanceof StripeInvalidRequestError, String(over2));
    assert.equal(over2.raw.payd_code, 411);
    assert.equal(over2.raw.user_message, row.message_zh);

    const got = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(got.amount_refunded, 600);
    const list = await stripe.refunds.list({ payment_intent: pi.id });
    assert.equal(list.data.length, 1);

    const exact = await stripe.refunds.create({ payment_intent: pi.id, amount: 400 });
    assert.equal(exact.status, 'succeeded');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 1000);
  });

  it('without an amount a refund takes what remains', async () => {
    const pi = await pay(stripe, 5000, 'jpy');
    await stripe.refunds.create({ payment_intent: pi.id, amount: 1200 });
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(rest.status, 'succeeded');
    assert.equal(rest.amount, 3800);
    assert.equal(rest.currency, 'jpy');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 5000);

    const whole = await pay(stripe, 2500, 'jpy');
    const all = await stripe.refunds.create({ payment_intent: whole.id });
    assert.equal(all.amount, 2500);
  });

  it('refunds only what was captured on a partially captured payment', async () => {
    const auth = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    const uncaptured = await rejection(stripe.refunds.create({ payment_intent: auth.id, amount: 1 }));
    assert.ok(uncaptured instanceof StripeInvalidRequestError, String(uncaptured));
    assert.equal(uncaptured.statusCode, 400);

    await stripe.paymentIntents.capture(auth.id, { amount_to_capture: 700 });
    const over = await rejection(stripe.refunds.create({ payment_intent: auth.id, amount: 701 }));
    assert.equal(over.raw?.payd_code, 411);
    const rest = await stripe.refunds.create({ payment_intent: auth.id });
    assert.equal(rest.amount, 700);
  });

  it('a refund of a payment made with pm_card_refundFail ends failed and the money is back', async () => {
    const cur = 'sgd';
    const b0 = await balanceOf(stripe, cur);
    const pi = await pay(stripe, 2000, cur, 'pm_card_refundFail');
    assert.equal((await balanceOf(stripe, cur)).available - b0.available, 2000);

    const created = await stripe.refunds.create({ payment_intent: pi.id, amount: 800 });
    assert.ok(['pending', 'failed'].includes(created.status), created.status);
    const r = await waitFor(
      async () => {
        const x = await stripe.refunds.retrieve(created.id);
        return x.status !== 'pending' && x;
      },
      { timeoutMs: 15_000, what: 'refund leaving pending' }
    );
    assert.equal(r.status, 'failed');
    assert.equal(r.failure_reason, cat.get(601).slug);
    assert.equal(r.payd_code, 601);

    // The money went back where it came from.
    const got = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(got.amount_refunded, 0);
    assert.equal((await balanceOf(stripe, cur)).available - b0.available, 2000);

    // And remains refundable in principle: a refund is refused only for
    // amounts beyond what remains.
    const over = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 2001 }));
    assert.equal(over.raw?.payd_code, 411);

    const events = await stripe.events.list({ type: 'refund.failed', limit: 100 }).autoPagingToArray({ limit: 1000 });
    const ev = events.find((e) => e.data.object.id === r.id);
    assert.ok(ev, 'refund.failed event for the refund');
    assert.equal(ev.data.object.status, 'failed');
    assert.equal(ev.data.object.failure_reason, r.failure_reason);
  });

  it('lists refunds filtered by payment_intent, newest first', async () => {
    const a = await pay(stripe, 900);
    const b = await pay(stripe, 900);
    const ra = [];
    for (let i = 0; i < 3; i++) ra.push((await stripe.refunds.create({ payment_intent: a.id, amount: 100 })).id);
    const rb = (await stripe.refunds.create({ payment_intent: b.id, amount: 100 })).id;

    const listA = await stripe.refunds.list({ payment_intent: a.id });
    assert.equal(listA.object, 'list');
    assert.deepEqual(
      listA.data.map((r) => r.id),
      [...ra].reverse()
    );
    assert.ok(listA.data.every((r) => r.payment_intent === a.id));
    assert.equal(listA.has_more, false);

    const listB = await stripe.refunds.list({ payment_intent: b.id });
    assert.deepEqual(
      listB.data.map((r) => r.id),
      [rb]
    );

    const paged = await stripe.refunds.list({ payment_intent: a.id, limit: 2 });
    assert.equal(paged.data.length, 2);
    assert.equal(paged.has_more, true);
    const all = await stripe.refunds.list({ payment_intent: a.id, limit: 2 }).autoPagingToArray({ limit: 100 });
    assert.deepEqual(
      all.map((r) => r.id),
      [...ra].reverse()
    );

    const everything = await stripe.refunds.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
    for (const id of [...ra, rb]) assert.ok(everything.some((r) => r.id === id), `${id} in the unfiltered list`);

    const none = await stripe.refunds.list({ payment_intent: 'pi_doesnotexist0000000000' });
    assert.deepEqual(none.data, []);
  });

  it('records charge.refunded events', async () => {
    const pi = await pay(stripe, 1500);
    const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    const r2 = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(r2.amount, 1000);
    const events = await stripe.events
      .list({ type: 'charge.refunded', limit: 100 })
      .autoPagingToArray({ limit: 10_000 });
    assert.ok(events.every((e) => e.type === 'charge.refunded'));
    const mine = events.filter((e) => e.data.object.payment_intent === pi.id);
    assert.equal(mine.length, 2, 'one charge.refunded per refund');
    const refundedAmounts = mine.map((e) => e.data.object.amount_refunded).sort((x, y) => x - y);
    assert.deepEqual(refundedAmounts, [500, 1500]);
    assert.equal(mine.find((e) => e.data.object.amount_refunded === 1500).data.object.refunded, true);
    assert.ok(r1.id && r2.id);
  });

  it('refund parameters are checked: missing payment_intent, zero amount, unknown intent', async () => {
    const pi = await pay(stripe, 300);
    const missing = await rejection(stripe.refunds.create({ amount: 100 }));
    assert.ok(missing instanceof StripeInvalidRequestError, String(missing));
    assert.equal(missing.code, 'parameter_missing');
    assert.equal(missing.param, 'payment_intent');

    const zero = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 0 }));
    assert.ok(zero instanceof StripeInvalidRequestError, String(zero));
    assert.equal(zero.statusCode, 400);

    const unknown = await rejection(stripe.refunds.create({ payment_intent: 'pi_doesnotexist0000000000' }));
    assert.ok(unknown instanceof StripeInvalidRequestError, String(unknown));
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.code, 'resource_missing');

    const unpaid = await stripe.paymentIntents.create({ amount: 300, currency: 'usd' });
    const notPaid = await rejection(stripe.refunds.create({ payment_intent: unpaid.id }));
    assert.ok(notPaid instanceof StripeInvalidRequestError, String(notPaid));
    assert.equal(notPaid.statusCode, 400);

    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 0);
  });
});
