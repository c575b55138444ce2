// isolation: a merchant never sees or touches another merchant's objects
// (404 resource_missing, as if they did not exist), and a missing or wrong
// API key is a 401 with the catalog error.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, rejection, balanceOf } from './harness.mjs';

const { StripeInvalidRequestError, StripeAuthenticationError } = Stripe.errors;

function assertMissing(err, what) {
  assert.ok(err instanceof StripeInvalidRequestError, `${what}: ${err}`);
  assert.equal(err.statusCode, 404, what);
  assert.equal(err.code, 'resource_missing', what);
  assert.equal(err.raw.payd_code, 408, what);
}

describe('merchant isolation and authentication (stripe-node)', () => {
  let payd, a, b;
  let paid, open, manual, refund;

  before(async () => {
    payd = await startPayd({ merchants: ['alice', 'bob'] });
    a = payd.stripe(payd.keys.alice);
    b = payd.stripe(payd.keys.bob);
    paid = await a.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    open = await a.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa' });
    manual = await a.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    refund = await a.refunds.create({ payment_intent: paid.id, amount: 1000 });
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it("B cannot retrieve A's intent or refund", async () => {
    assertMissing(await rejection(b.paymentIntents.retrieve(paid.id)), 'retrieve intent');
    assertMissing(await rejection(b.refunds.retrieve(refund.id)), 'retrieve refund');
  });

  it("B cannot confirm, update, capture, cancel or refund A's intents, and they stay as they were", async () => {
    assertMissing(await rejection(b.paymentIntents.confirm(open.id)), 'confirm');
    assertMissing(await rejection(b.paymentIntents.update(open.id, { amount: 1 })), 'update');
    assertMissing(await rejection(b.paymentIntents.capture(manual.id)), 'capture');
    assertMissing(await rejection(b.paymentIntents.cancel(manual.id)), 'cancel');
    assertMissing(await rejection(b.refunds.create({ payment_intent: paid.id, amount: 500 })), 'refund');

    const o = await a.paymentIntents.retrieve(open.id);
    assert.equal(o.status, 'requires_confirmation');
    assert.equal(o.amount, 5000);
    assert.equal(o.attempts.length, 0);
    const m = await a.paymentIntents.retrieve(manual.id);
    assert.equal(m.status, 'requires_capture');
    const p = await a.paymentIntents.retrieve(paid.id);
    assert.equal(p.amount_refunded, 1000);
    assert.equal((await a.refunds.list({ payment_intent: paid.id })).data.length, 1);
  });

  it("B's lists, events and balance show none of A's objects", async () => {
    const aIds = new Set([paid.id, open.id, manual.id, refund.id]);
    const intents = await b.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    assert.ok(!intents.some((x) => aIds.has(x.id)), 'no intent of A in B’s list');
    const refunds = await b.refunds.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    assert.ok(!refunds.some((x) => aIds.has(x.id)));
    const byIntent = await b.refunds.list({ payment_intent: paid.id });
    assert.deepEqual(byIntent.data, []);
    const events = await b.events.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    assert.ok(!events.some((e) => aIds.has(e.data.object?.id) || aIds.has(e.data.object?.payment_intent)));

    // A's cursor does not open A's list to B.
    const cursor = await b.paymentIntents.list({ starting_after: open.id, limit: 100 }).catch((err) => err);
    if (cursor instanceof Error) assertMissing(cursor, 'starting_after with A’s id');
    else assert.ok(!cursor.data.some((x) => aIds.has(x.id)));

    // And A's event ids are not B's either.
    const aEvents = await a.events.list({ limit: 5 });
    assert.ok(aEvents.data.length > 0);
    assertMissing(await rejection(b.events.retrieve(aEvents.data[0].id)), 'event');

    const bal = await balanceOf(b, 'usd');
    assert.equal(bal.available, 0);
    assert.equal(bal.pending, 0);
    const balA = await balanceOf(a, 'usd');
    assert.equal(balA.available, 4000);
    assert.equal(balA.pending, 5000);
  });

  it('B can do the same things with its own objects', async () => {
    const own = await b.paymentIntents.create({ amount: 700, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    assert.equal(own.status, 'succeeded');
    assert.equal((await b.paymentIntents.retrieve(own.id)).id, own.id);
    const list = await b.paymentIntents.list();
    assert.ok(list.data.some((x) => x.id === own.id));
    assertMissing(await rejection(a.paymentIntents.retrieve(own.id)), 'A retrieving B’s intent');
  });

  it('a wrong API key is a 401 StripeAuthenticationError', async () => {
    for (const key of ['sk_test_wrongwrongwrongwrongwrongwr', payd.keys.alice.slice(0, -1) + 'X', 'sk_live_abc']) {
      const err = await rejection(payd.stripe(key).paymentIntents.list());
      assert.ok(err instanceof StripeAuthenticationError, `${key}: ${err}`);
      assert.equal(err.statusCode, 401);
      assert.equal(err.rawType, 'authentication_error');
      assert.equal(err.raw.payd_code, 413);
      const post = await rejection(
        payd.stripe(key).paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true })
      );
      assert.ok(post instanceof StripeAuthenticationError, String(post));
    }
    // Nothing was created by those POSTs.
    const intents = await a.paymentIntents.list({ limit: 100 });
    assert.equal(intents.data.length, 3);
  });

  it('a missing key is a 401; Basic auth with the key as user name works', async () => {
    const none = await payd.request('GET', '/v1/payment_intents', { key: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.type, 'authentication_error');
    assert.equal(none.body.error.payd_code, 413);

    const basic = await payd.request('GET', `/v1/payment_intents/${paid.id}`, {
      key: null,
      headers: { Authorization: `Basic ${Buffer.from(`${payd.keys.alice}:`).toString('base64')}` },
    });
    assert.equal(basic.status, 200);
    assert.equal(basic.body.id, paid.id);

    const basicWrong = await payd.request('GET', '/v1/payment_intents', {
      key: null,
      headers: { Authorization: `Basic ${Buffer.from('sk_test_nope:').toString('base64')}` },
    });
    assert.equal(basicWrong.status, 401);

    const basicB = await payd.request('GET', `/v1/payment_intents/${paid.id}`, {
      key: null,
      headers: { Authorization: `Basic ${Buffer.from(`${payd.keys.bob}:`).toString('base64')}` },
    });
    assert.equal(basicB.status, 404);
  });
});
