// idempotency: Stripe's Idempotency-Key semantics through stripe-node's
// {idempotencyKey} request option — replay of the first answer (success or
// error) with Idempotent-Replayed, 400 for a key reused with other
// parameters, no second charge, keys scoped per merchant, and the same key
// sent many times at once.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, rejection, balanceOf, uniq } from './harness.mjs';

const { StripeIdempotencyError, StripeCardError, StripeInvalidRequestError } = Stripe.errors;

const replayed = (obj) => obj.lastResponse.headers['idempotent-replayed'];

/** Strips what differs between two reads of the same object (nothing should). */
const plain = (obj) => JSON.parse(JSON.stringify(obj));

async function allIntents(stripe) {
  return stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
}

describe('idempotency (stripe-node)', () => {
  let payd, stripe;

  before(async () => {
    payd = await startPayd({ merchants: ['idem-a', 'idem-b'] });
    stripe = payd.stripe(payd.keys['idem-a']);
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it('the same key with the same parameters replays the first response', async () => {
    const key = uniq('create');
    const params = { amount: 1200, currency: 'usd', metadata: { tag: key } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    assert.equal(second.id, first.id);
    assert.deepEqual(plain(second), plain(first));
    assert.equal(second.lastResponse.statusCode, first.lastResponse.statusCode);

    const mine = (await allIntents(stripe)).filter((pi) => pi.metadata.tag === key);
    assert.equal(mine.length, 1, 'one intent created');

    // Header checks last, so that the behaviour above is checked even if they fail.
    assert.equal(replayed(first), undefined, 'the first answer is not a replay');
    assert.equal(replayed(second), 'true', 'Idempotent-Replayed: true on the replay');
  });

  it('the same key with other parameters is a 400 idempotency error and creates nothing', async () => {
    const key = uniq('reuse');
    const first = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { tag: key } }, { idempotencyKey: key });
    const err = await rejection(
      stripe.paymentIntents.create({ amount: 2000, currency: 'usd', metadata: { tag: key } }, { idempotencyKey: key })
    );
    assert.ok(err instanceof StripeIdempotencyError, String(err));
    assert.equal(err.statusCode, 400);
    assert.equal(err.rawType, 'idempotency_error');
    assert.equal(err.code, 'idempotency_key_reused');
    assert.equal(err.raw.payd_code, 409);

    // Same key on another endpoint: also another request.
    const other = await rejection(stripe.paymentIntents.update(first.id, { description: 'x' }, { idempotencyKey: key }));
    assert.ok(other instanceof StripeIdempotencyError, String(other));

    const mine = (await allIntents(stripe)).filter((pi) => pi.metadata.tag === key);
    assert.deepEqual(
      mine.map((pi) => pi.id),
      [first.id]
    );
    assert.equal(mine[0].amount, 1000);
    assert.equal(mine[0].description, null);
  });

  it('create+confirm replayed does not charge twice', async () => {
    const cur = 'chf';
    const b0 = await balanceOf(stripe, cur);
    const key = uniq('pay');
    const params = { amount: 2500, currency: cur, payment_method: 'pm_card_visa', confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    assert.equal(first.status, 'succeeded');
    const replays = await Promise.all([1, 2, 3].map(() => stripe.paymentIntents.create(params, { idempotencyKey: key })));
    for (const r of replays) {
      assert.equal(r.id, first.id);
      assert.equal(r.status, 'succeeded');
    }
    const got = await stripe.paymentIntents.retrieve(first.id);
    assert.equal(got.attempts.length, 1, 'one attempt');
    assert.equal(got.amount_received, 2500);
    const b1 = await balanceOf(stripe, cur);
    assert.equal(b1.available - b0.available, 2500, 'counted once in the balance');
    const succeeded = await stripe.events
      .list({ type: 'payment_intent.succeeded', limit: 100 })
      .autoPagingToArray({ limit: 10_000 });
    assert.equal(succeeded.filter((e) => e.data.object.id === first.id).length, 1, 'one succeeded event');
    for (const r of replays) assert.equal(replayed(r), 'true', 'Idempotent-Replayed: true on the replay');
  });

  it('an error answer is replayed too, without a second attempt', async () => {
    const key = uniq('decline');
    const params = { amount: 700, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const first = await rejection(stripe.paymentIntents.create(params, { idempotencyKey: key }));
    const second = await rejection(stripe.paymentIntents.create(params, { idempotencyKey: key }));
    assert.ok(first instanceof StripeCardError, String(first));
    assert.ok(second instanceof StripeCardError, String(second));
    assert.equal(second.statusCode, 402);
    assert.equal(second.raw.charge, first.raw.charge);
    assert.equal(second.payment_intent.id, first.payment_intent.id);
    assert.equal(second.raw.payd_code, first.raw.payd_code);
    const got = await stripe.paymentIntents.retrieve(first.payment_intent.id);
    assert.equal(got.attempts.length, 1);
    assert.equal(second.headers['idempotent-replayed'], 'true', 'Idempotent-Replayed: true on the replay');
  });

  it('a confirm with a key is replayed instead of refused', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 800, currency: 'usd', payment_method: 'pm_card_visa' });
    assert.equal(pi.status, 'requires_confirmation');
    const key = uniq('confirm');
    const first = await stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey: key });
    const second = await stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey: key });
    assert.equal(first.status, 'succeeded');
    assert.equal(second.status, 'succeeded');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).attempts.length, 1);

    const noKey = await rejection(stripe.paymentIntents.confirm(pi.id));
    assert.ok(noKey instanceof StripeInvalidRequestError, String(noKey));
    assert.equal(noKey.code, 'payment_intent_unexpected_state');
    assert.equal(replayed(second), 'true', 'Idempotent-Replayed: true on the replay');
  });

  it('a refund with a key is made once', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const key = uniq('refund');
    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 400 }, { idempotencyKey: key });
    const second = await stripe.refunds.create({ payment_intent: pi.id, amount: 400 }, { idempotencyKey: key });
    assert.equal(second.id, first.id);
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 400);
    const list = await stripe.refunds.list({ payment_intent: pi.id });
    assert.equal(list.data.length, 1);

    const other = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 500 }, { idempotencyKey: key }));
    assert.ok(other instanceof StripeIdempotencyError, String(other));
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).amount_refunded, 400);
    assert.equal(replayed(second), 'true', 'Idempotent-Replayed: true on the replay');
  });

  it('keys belong to one merchant: the same key at another merchant is a new request', async () => {
    const other = payd.stripe(payd.keys['idem-b']);
    const key = uniq('shared');
    const params = { amount: 300, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const a = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    const b = await other.paymentIntents.create(params, { idempotencyKey: key });
    assert.notEqual(b.id, a.id);
    assert.equal(replayed(b), undefined);
    assert.equal(b.status, 'succeeded');
    // Reused with other parameters at B: B's own first request decides.
    const bAgain = await other.paymentIntents.create(params, { idempotencyKey: key });
    assert.equal(bAgain.id, b.id);
  });

  it('one key sent 20 times at once: one payment, every answer the same payment or 409 in use', async () => {
    const cur = 'hkd';
    const b0 = await balanceOf(stripe, cur);
    const key = uniq('burst');
    const params = { amount: 1500, currency: cur, payment_method: 'pm_card_visa', confirm: true, metadata: { tag: key } };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => stripe.paymentIntents.create(params, { idempotencyKey: key }))
    );
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    assert.ok(ok.length >= 1, 'at least the first request succeeds');
    const ids = new Set(ok.map((pi) => pi.id));
    assert.equal(ids.size, 1, 'every success names the same payment');
    for (const pi of ok) assert.equal(pi.status, 'succeeded');
    for (const err of failed) {
      assert.equal(err.statusCode, 409, String(err));
      assert.equal(err.raw.type, 'idempotency_error');
      assert.equal(err.raw.payd_code, 410);
    }
    const [id] = ids;
    const mine = (await allIntents(stripe)).filter((pi) => pi.metadata.tag === key);
    assert.deepEqual(
      mine.map((pi) => pi.id),
      [id]
    );
    assert.equal((await stripe.paymentIntents.retrieve(id)).attempts.length, 1);
    assert.equal((await balanceOf(stripe, cur)).available - b0.available, 1500);
  });

  it('without a key, two identical requests are two payments', async () => {
    const tag = uniq('nokey');
    const params = { amount: 100, currency: 'usd', metadata: { tag } };
    const a = await stripe.paymentIntents.create(params);
    const b = await stripe.paymentIntents.create(params);
    assert.notEqual(a.id, b.id);
  });
});
