// flows: the main PaymentIntent flows through the official stripe client —
// success, confirm later, update, retrieve, every sandbox decline with its
// catalog fields (both languages), retry after a failure, manual capture and
// cancel with the balance, wallets, second verification, and the timeout
// cards that the resolver settles.  See docs/SANDBOX.md for the test methods.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import Stripe from 'stripe';
import { startPayd, catalog, rejection, waitFor, balanceOf, uniq } from './harness.mjs';

const { StripeCardError, StripeInvalidRequestError } = Stripe.errors;

// The resolver's first query comes about 1 s after a timeout; later ones
// back off.  Generous, but bounded.
const SETTLE_TIMEOUT_MS = 15_000;

const card = (number, extra = {}) => ({
  type: 'card',
  card: { number, exp_month: 12, exp_year: 2031, cvc: '123', ...extra },
});
const wallet = (type, outcome) => ({ type, [type]: outcome ? { test_outcome: outcome } : {} });

/** Checks an error object (err.raw or last_payment_error) against catalog row `code`. */
function assertCatalogFields(raw, row, { lang = 'en', userMessage } = {}) {
  assert.equal(raw.payd_code, row.code, `payd_code of ${JSON.stringify(raw)}`);
  assert.equal(raw.type, row.type);
  assert.equal(raw.code, row.stripe_code);
  if (row.type === 'card_error') assert.equal(raw.decline_code, row.slug);
  assert.equal(raw.user_message, userMessage ?? (lang === 'zh' ? row.message_zh : row.message_en));
  assert.equal(typeof raw.message, 'string');
  assert.ok(raw.message.length > 0);
}

async function settle(stripe, id) {
  return waitFor(
    async () => {
      const pi = await stripe.paymentIntents.retrieve(id);
      return pi.status !== 'processing' && pi;
    },
    { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 100, what: `payment_intent ${id} leaving processing` }
  );
}

async function eventsOfType(stripe, type) {
  return stripe.events.list({ type, limit: 100 }).autoPagingToArray({ limit: 10_000 });
}

describe('payment flows (stripe-node)', () => {
  let payd, stripe, cat;

  before(async () => {
    payd = await startPayd({ merchants: ['flows'] });
    stripe = payd.stripe();
    cat = await catalog();
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it('creates and confirms a payment with pm_card_visa in one call', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      description: 'order 1',
      customer: 'cus_e2e_1',
      metadata: { order_id: '1001' },
    });
    assert.match(pi.id, /^pi_/);
    assert.equal(pi.object, 'payment_intent');
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.amount, 2000);
    assert.equal(pi.amount_received, 2000);
    assert.equal(pi.currency, 'usd');
    assert.equal(pi.capture_method, 'automatic');
    assert.equal(pi.customer, 'cus_e2e_1');
    assert.deepEqual(pi.metadata, { order_id: '1001' });
    assert.equal(pi.last_payment_error, null);
    assert.equal(pi.livemode, false);
    assert.equal(pi.lastResponse.statusCode, 200);
    assert.equal(pi.attempts.length, 1);
    assert.equal(pi.attempts[0].status, 'succeeded');
    assert.equal(pi.attempts[0].amount, 2000);
    assert.equal(pi.attempts[0].payment_method.card.last4, '4242');
    assert.equal(pi.latest_charge, pi.attempts[0].id);
    // description given with confirm=true is kept, in the answer and stored.
    assert.equal(pi.description, 'order 1');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).description, 'order 1');
  });

  it('creates first and confirms later', async () => {
    const created = await stripe.paymentIntents.create({ amount: 1500, currency: 'usd' });
    assert.equal(created.status, 'requires_payment_method');
    assert.equal(created.amount_received, 0);

    const withMethod = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      payment_method: 'pm_card_mastercard',
    });
    assert.equal(withMethod.status, 'requires_confirmation');

    const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' });
    assert.equal(confirmed.id, created.id);
    assert.equal(confirmed.status, 'succeeded');
    assert.equal(confirmed.amount_received, 1500);

    const confirmed2 = await stripe.paymentIntents.confirm(withMethod.id);
    assert.equal(confirmed2.status, 'succeeded');
    assert.equal(confirmed2.attempts[0].payment_method.card.brand, 'mastercard');
  });

  it('confirm without any payment method is refused and changes nothing', async () => {
    const created = await stripe.paymentIntents.create({ amount: 1500, currency: 'usd' });
    const err = await rejection(stripe.paymentIntents.confirm(created.id));
    assert.ok(err instanceof StripeInvalidRequestError, String(err));
    assert.equal(err.statusCode, 400);
    const again = await stripe.paymentIntents.retrieve(created.id);
    assert.equal(again.status, 'requires_payment_method');
    assert.equal(again.attempts.length, 0);
  });

  it('updates amount, metadata and description before confirmation, not after success', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      description: 'before',
      metadata: { a: '1' },
    });
    const updated = await stripe.paymentIntents.update(pi.id, {
      amount: 1234,
      description: 'after',
      metadata: { b: '2' },
    });
    assert.equal(updated.amount, 1234);
    assert.equal(updated.description, 'after');
    assert.equal(updated.metadata.b, '2');

    const done = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 1234);

    const err = await rejection(stripe.paymentIntents.update(pi.id, { amount: 99999 }));
    assert.ok(err instanceof StripeInvalidRequestError, String(err));
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'payment_intent_unexpected_state');
    assert.equal(err.raw.payd_code, 412);

    const after = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(after.amount, 1234);
    assert.equal(after.amount_received, 1234);
    assert.equal(after.description, 'after');
  });

  it('retrieves what it created, and a missing id is resource_missing', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 777,
      currency: 'jpy',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { k: 'v' },
    });
    const got = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(got.id, pi.id);
    assert.equal(got.status, 'succeeded');
    assert.equal(got.amount, 777);
    assert.equal(got.amount_received, 777);
    assert.equal(got.currency, 'jpy');
    assert.deepEqual(got.metadata, { k: 'v' });
    assert.deepEqual(
      got.attempts.map((a) => a.id),
      pi.attempts.map((a) => a.id)
    );

    const err = await rejection(stripe.paymentIntents.retrieve('pi_doesnotexist0000000000'));
    assert.ok(err instanceof StripeInvalidRequestError, String(err));
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'resource_missing');
    assert.equal(err.raw.payd_code, 408);
  });

  it('an unknown test payment method id is resource_missing and creates nothing', async () => {
    const before = await stripe.paymentIntents.list({ limit: 1 });
    const err = await rejection(
      stripe.paymentIntents.create({ amount: 500, currency: 'usd', payment_method: 'pm_card_nosuch', confirm: true })
    );
    assert.ok(err instanceof StripeInvalidRequestError, String(err));
    assert.equal(err.code, 'resource_missing');
    assert.equal(err.raw.payd_code, 408);
    const after = await stripe.paymentIntents.list({ limit: 1 });
    assert.equal(after.data[0]?.id, before.data[0]?.id);
  });

  const declines = [
    ['pm_card_chargeDeclined', 107],
    ['pm_card_chargeDeclinedInsufficientFunds', 101],
    ['pm_card_chargeDeclinedExpiredCard', 102],
    ['pm_card_chargeDeclinedIncorrectCvc', 103],
    ['pm_card_chargeDeclinedLostCard', 105],
    ['pm_card_chargeDeclinedStolenCard', 106],
    ['pm_card_chargeDeclinedProcessingError', 203],
  ];
  for (const [pm, code] of declines) {
    it(`${pm} rejects with catalog ${code} and leaves the intent requires_payment_method`, async () => {
      const row = cat.get(code);
      assert.ok(row, `catalog has ${code}`);
      const err = await rejection(
        stripe.paymentIntents.create({ amount: 4200, currency: 'usd', payment_method: pm, confirm: true })
      );
      assert.ok(err instanceof StripeCardError, `${pm}: ${err}`);
      assert.equal(err.statusCode, row.http_status);
      assert.equal(err.rawType, row.type);
      assert.equal(err.code, row.stripe_code);
      assert.equal(err.decline_code, row.slug);
      assertCatalogFields(err.raw, row);
      if (code === 105 || code === 106) {
        // The payer sees a generic decline; only decline_code tells the merchant why.
        assert.equal(err.raw.user_message, cat.get(107).message_en);
        assert.doesNotMatch(err.raw.user_message, /lost|stolen/i);
        assert.doesNotMatch(err.message, /lost|stolen/i);
      }
      const pi = err.payment_intent;
      assert.ok(pi && pi.id, 'the error carries the payment_intent');
      assert.equal(pi.status, 'requires_payment_method');

      const got = await stripe.paymentIntents.retrieve(pi.id);
      assert.equal(got.status, 'requires_payment_method');
      assert.equal(got.amount_received, 0);
      assert.ok(got.last_payment_error, 'last_payment_error is set');
      assertCatalogFields(got.last_payment_error, row);
      assert.equal(got.last_payment_error.charge, err.raw.charge);
      assert.equal(got.attempts.length, 1);
      assert.equal(got.attempts[0].status, 'failed');
      assert.equal(got.attempts[0].payd_code, code);
      assert.equal(got.attempts[0].code, row.slug);
      assert.equal(typeof got.attempts[0].raw_code, 'string');
    });
  }

  it('a failed intent can be confirmed again and then lists both attempts', async () => {
    const err = await rejection(
      stripe.paymentIntents.create({
        amount: 3100,
        currency: 'usd',
        payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
        confirm: true,
      })
    );
    assert.ok(err instanceof StripeCardError, String(err));
    const id = err.payment_intent.id;
    const ok = await stripe.paymentIntents.confirm(id, { payment_method: 'pm_card_visa' });
    assert.equal(ok.status, 'succeeded');
    assert.equal(ok.amount_received, 3100);

    const got = await stripe.paymentIntents.retrieve(id);
    assert.equal(got.attempts.length, 2);
    const [first, second] = [...got.attempts].sort((a, b) => a.seq - b.seq);
    assert.equal(first.status, 'failed');
    assert.equal(first.payd_code, 101);
    assert.equal(first.code, 'insufficient_funds');
    assert.equal(first.raw_code, '51');
    assert.equal(first.channel, 'sandbox');
    assert.equal(first.payment_method.card.last4, '9995');
    assert.equal(second.status, 'succeeded');
    assert.equal(second.payd_code, null);
    assert.equal(second.payment_method.card.last4, '4242');
    assert.notEqual(first.id, second.id);
    assert.equal(got.latest_charge, second.id);

    const again = await rejection(stripe.paymentIntents.confirm(id, { payment_method: 'pm_card_visa' }));
    assert.ok(again instanceof StripeInvalidRequestError, String(again));
    assert.equal(again.code, 'payment_intent_unexpected_state');
    assert.equal((await stripe.paymentIntents.retrieve(id)).attempts.length, 2);

    // As in Stripe, a later successful confirmation clears last_payment_error
    // (the failure stays visible in attempts).
    assert.equal(ok.last_payment_error, null, 'last_payment_error cleared by the successful confirm');
    assert.equal(got.last_payment_error, null, 'last_payment_error cleared in the stored intent');
  });

  it('Accept-Language zh-CN gives the Chinese user_message; en the English one', async () => {
    const row = cat.get(101);
    const zh = await rejection(
      stripe.paymentIntents.create(
        { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclinedInsufficientFunds', confirm: true },
        { headers: { 'Accept-Language': 'zh-CN' } }
      )
    );
    assert.ok(zh instanceof StripeCardError, String(zh));
    assertCatalogFields(zh.raw, row, { lang: 'zh' });
    assert.match(zh.raw.user_message, /[\u4e00-\u9fff]/);

    // A browser's header, with weights.
    const browser = await rejection(
      stripe.paymentIntents.create(
        { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclinedLostCard', confirm: true },
        { headers: { 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' } }
      )
    );
    assertCatalogFields(browser.raw, cat.get(105), { lang: 'zh', userMessage: cat.get(107).message_zh });

    const en = await rejection(
      stripe.paymentIntents.create(
        { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclinedInsufficientFunds', confirm: true },
        { headers: { 'Accept-Language': 'en-US,en;q=0.9' } }
      )
    );
    assertCatalogFields(en.raw, row, { lang: 'en' });

    // The stored last_payment_error is rendered in the language of each read.
    const id = zh.payment_intent.id;
    const readZh = await stripe.paymentIntents.retrieve(id, {}, { headers: { 'Accept-Language': 'zh-CN' } });
    assert.equal(readZh.last_payment_error.user_message, row.message_zh);
    const readEn = await stripe.paymentIntents.retrieve(id);
    assert.equal(readEn.last_payment_error.user_message, row.message_en);

    // And over plain HTTP, for a client that sets the header itself.
    const raw = await payd.request('POST', '/v1/payment_intents', {
      body: { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclinedExpiredCard', confirm: 'true' },
      headers: { 'Accept-Language': 'zh-CN' },
    });
    assert.equal(raw.status, 402);
    assertCatalogFields(raw.body.error, cat.get(102), { lang: 'zh' });
  });

  const rawCards = [
    ['4242424242424242', null, 'visa'],
    ['5555555555554444', null, 'mastercard'],
    ['4000000000000002', 107],
    ['4000000000009995', 101],
    ['4000000000000069', 102],
    ['4000000000000127', 103],
    ['4000000000009987', 105],
    ['4000000000009979', 106],
    ['4000000000000119', 203],
  ];
  it('raw test card numbers give their catalog outcome and only brand/last4 are kept', async () => {
    for (const [number, code, brand] of rawCards) {
      const params = { amount: 2500, currency: 'usd', confirm: true, payment_method_data: card(number) };
      if (code === null) {
        const pi = await stripe.paymentIntents.create(params);
        assert.equal(pi.status, 'succeeded', number);
        assert.equal(pi.amount_received, 2500);
        const pm = pi.attempts[0].payment_method;
        assert.equal(pm.type, 'card');
        assert.equal(pm.card.brand, brand);
        assert.equal(pm.card.last4, number.slice(-4));
        assert.equal(pm.card.exp_month, 12);
        assert.equal(pm.card.exp_year, 2031);
        assert.ok(!JSON.stringify(pi).includes(number), 'the number is not echoed');
      } else {
        const row = cat.get(code);
        const err = await rejection(stripe.paymentIntents.create(params));
        assert.ok(err instanceof StripeCardError, `${number}: ${err}`);
        assertCatalogFields(err.raw, row);
        assert.equal(err.payment_intent.status, 'requires_payment_method');
        assert.equal(err.payment_intent.last_payment_error.payd_code, code);
        assert.equal(err.payment_intent.attempts[0].payment_method.card.last4, number.slice(-4));
        assert.ok(!JSON.stringify(err.raw).includes(number), 'the number is not echoed');
      }
    }
  });

  it('never writes a raw card number to the database or the log', async () => {
    // Two more payments with distinctive numbers, then look at every byte
    // payd has written (database, WAL, log).
    await stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      confirm: true,
      payment_method_data: card('4242424242424242', { cvc: '987' }),
    });
    await rejection(
      stripe.paymentIntents.create({
        amount: 100,
        currency: 'usd',
        confirm: true,
        payment_method_data: card('4000000000009995'),
      })
    );
    const files = [payd.db, `${payd.db}-wal`].filter((f) => existsSync(f));
    for (const number of ['4242424242424242', '5555555555554444', '4000000000009995', '4000000000009987']) {
      for (const f of files) {
        const bytes = await readFile(f);
        assert.equal(bytes.indexOf(Buffer.from(number)), -1, `${number} found in ${f}`);
      }
      assert.ok(!payd.logs().includes(number), `${number} found in payd's log`);
    }
  });

  it('manual capture: requires_capture, partial capture, cancel, and the balance follows', async () => {
    const cur = 'eur';
    const b0 = await balanceOf(stripe, cur);

    const auth = await stripe.paymentIntents.create({
      amount: 1000,
      currency: cur,
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    assert.equal(auth.status, 'requires_capture');
    assert.equal(auth.capture_method, 'manual');
    assert.equal(auth.amount_capturable, 1000);
    assert.equal(auth.amount_received, 0);
    const b1 = await balanceOf(stripe, cur);
    assert.equal(b1.pending - b0.pending, 1000, 'the authorization is pending');
    assert.equal(b1.available, b0.available, 'nothing available before capture');

    const captured = await stripe.paymentIntents.capture(auth.id, { amount_to_capture: 600 });
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 600);
    assert.equal(captured.amount_capturable, 0);
    const b2 = await balanceOf(stripe, cur);
    assert.equal(b2.available - b0.available, 600, 'only the captured part is available');
    assert.equal(b2.pending, b0.pending, 'the uncaptured rest is released');

    const twice = await rejection(stripe.paymentIntents.capture(auth.id));
    assert.ok(twice instanceof StripeInvalidRequestError, String(twice));
    assert.equal(twice.code, 'payment_intent_unexpected_state');

    const auth2 = await stripe.paymentIntents.create({
      amount: 700,
      currency: cur,
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    assert.equal(auth2.status, 'requires_capture');
    assert.equal((await balanceOf(stripe, cur)).pending - b0.pending, 700);

    const tooMuch = await rejection(stripe.paymentIntents.capture(auth2.id, { amount_to_capture: 701 }));
    assert.ok(tooMuch instanceof StripeInvalidRequestError, String(tooMuch));
    assert.equal(tooMuch.statusCode, 400);
    assert.equal(tooMuch.param, 'amount_to_capture');
    assert.equal((await stripe.paymentIntents.retrieve(auth2.id)).status, 'requires_capture');

    const canceled = await stripe.paymentIntents.cancel(auth2.id, { cancellation_reason: 'requested_by_customer' });
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.cancellation_reason, 'requested_by_customer');
    assert.equal(canceled.amount_received, 0);
    assert.equal(typeof canceled.canceled_at, 'number');
    const b3 = await balanceOf(stripe, cur);
    assert.equal(b3.pending, b0.pending, 'the canceled authorization is released');
    assert.equal(b3.available - b0.available, 600);

    const captureCanceled = await rejection(stripe.paymentIntents.capture(auth2.id));
    assert.ok(captureCanceled instanceof StripeInvalidRequestError, String(captureCanceled));
    assert.equal(captureCanceled.code, 'payment_intent_unexpected_state');

    // Full capture without amount_to_capture.
    const auth3 = await stripe.paymentIntents.create({
      amount: 250,
      currency: cur,
      payment_method: 'pm_card_mastercard',
      capture_method: 'manual',
      confirm: true,
    });
    const full = await stripe.paymentIntents.capture(auth3.id);
    assert.equal(full.status, 'succeeded');
    assert.equal(full.amount_received, 250);
    const b4 = await balanceOf(stripe, cur);
    assert.equal(b4.available - b0.available, 850);
    assert.equal(b4.pending, b0.pending);

    // The developer message names the limit (700), not the status.
    assert.match(tooMuch.message, /\b700\b/, tooMuch.message);
  });

  it('cancels an unconfirmed intent; a canceled or succeeded one cannot be canceled or confirmed', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 300, currency: 'usd' });
    const canceled = await stripe.paymentIntents.cancel(pi.id);
    assert.equal(canceled.status, 'canceled');
    const confirm = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' }));
    assert.ok(confirm instanceof StripeInvalidRequestError, String(confirm));
    assert.equal(confirm.code, 'payment_intent_unexpected_state');
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).attempts.length, 0);

    const paid = await stripe.paymentIntents.create({
      amount: 300,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const cancelPaid = await rejection(stripe.paymentIntents.cancel(paid.id));
    assert.ok(cancelPaid instanceof StripeInvalidRequestError, String(cancelPaid));
    assert.equal(cancelPaid.code, 'payment_intent_unexpected_state');
    assert.equal((await stripe.paymentIntents.retrieve(paid.id)).status, 'succeeded');
  });

  for (const type of ['alipay', 'wechat_pay']) {
    it(`${type}: success, insufficient balance and risk interception`, async () => {
      for (const outcome of [undefined, 'success']) {
        const pi = await stripe.paymentIntents.create({
          amount: 8800,
          currency: 'cny',
          confirm: true,
          payment_method_data: wallet(type, outcome),
        });
        assert.equal(pi.status, 'succeeded');
        assert.equal(pi.amount_received, 8800);
        assert.deepEqual(pi.payment_method_types, [type]);
        assert.equal(pi.attempts[0].payment_method.type, type);
        assert.equal(pi.attempts[0].raw_code, type === 'alipay' ? '10000' : 'SUCCESS');
      }
      const cases = [
        ['insufficient_balance', 101, type === 'alipay' ? 'ACQ.BUYER_BALANCE_NOT_ENOUGH' : 'NOTENOUGH'],
        ['risk_interception', 301, type === 'alipay' ? 'ACQ.PAYMENT_REQUEST_HAS_RISK' : 'RISK_CONTROL'],
      ];
      for (const [outcome, code, rawCode] of cases) {
        const row = cat.get(code);
        const err = await rejection(
          stripe.paymentIntents.create(
            { amount: 8800, currency: 'cny', confirm: true, payment_method_data: wallet(type, outcome) },
            { headers: { 'Accept-Language': 'zh-CN' } }
          )
        );
        assert.ok(err instanceof StripeCardError, `${type}/${outcome}: ${err}`);
        assertCatalogFields(err.raw, row, { lang: 'zh' });
        const pi = await stripe.paymentIntents.retrieve(err.payment_intent.id);
        assert.equal(pi.status, 'requires_payment_method');
        assert.equal(pi.last_payment_error.payd_code, code);
        assert.equal(pi.attempts[0].raw_code, rawCode);
      }
      const bad = await rejection(
        stripe.paymentIntents.create({
          amount: 8800,
          currency: 'cny',
          confirm: true,
          payment_method_data: wallet(type, 'no_such_outcome'),
        })
      );
      assert.ok(bad instanceof StripeInvalidRequestError, String(bad));
      assert.equal(bad.raw.payd_code, 402);
    });

    it(`${type}: a timeout is processing, then the resolver finds it succeeded or not executed`, async () => {
      const taken = await stripe.paymentIntents.create({
        amount: 6600,
        currency: 'cny',
        confirm: true,
        payment_method_data: wallet(type, 'timeout'),
      });
      assert.equal(taken.status, 'processing');
      assert.equal(taken.attempts[0].status, 'unknown');
      assert.equal(taken.attempts[0].payd_code, 202);
      const before = await stripe.paymentIntents.create({
        amount: 6600,
        currency: 'cny',
        confirm: true,
        payment_method_data: wallet(type, 'timeout_before'),
      });
      assert.equal(before.status, 'processing');

      const a = await settle(stripe, taken.id);
      assert.equal(a.status, 'succeeded');
      assert.equal(a.amount_received, 6600);
      assert.equal(a.attempts.length, 1, 'resolved by a query, not sent again');
      const b = await settle(stripe, before.id);
      assert.equal(b.status, 'requires_payment_method');
      assert.equal(b.amount_received, 0);
      assert.equal(b.attempts.length, 1);
      assert.equal(b.attempts[0].status, 'failed');
      assert.ok(b.last_payment_error, 'last_payment_error is set');
      assertCatalogFields(b.last_payment_error, cat.get(b.last_payment_error.payd_code));
    });
  }

  it('second verification: requires_action, then 000000 succeeds', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      confirm: true,
      payment_method_data: card('4000002760003184'),
    });
    assert.equal(pi.status, 'requires_action');
    assert.ok(pi.next_action, 'next_action is set');
    assert.equal(typeof pi.next_action.type, 'string');
    assert.equal(pi.amount_received, 0);

    // Confirming without the code is refused and changes nothing.
    const noCode = await rejection(stripe.paymentIntents.confirm(pi.id));
    assert.ok(noCode instanceof StripeInvalidRequestError, String(noCode));
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');

    const done = await stripe.paymentIntents.confirm(pi.id, { verification_code: '000000' });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 5000);
    assert.equal(done.next_action, null);
    assert.equal(done.attempts.length, 1);

    const events = await eventsOfType(stripe, 'payment_intent.requires_action');
    assert.ok(events.some((e) => e.data.object.id === pi.id), 'payment_intent.requires_action event');
  });

  it('second verification: a wrong code fails with the verification-failed code, and the payer can pay again', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      confirm: true,
      payment_method_data: card('4000002760003184'),
    });
    assert.equal(pi.status, 'requires_action');
    const row = cat.get(303);
    const err = await rejection(stripe.paymentIntents.confirm(pi.id, { verification_code: '123456' }));
    assert.ok(err instanceof StripeCardError, String(err));
    assertCatalogFields(err.raw, row);
    assert.equal(err.code, 'payment_intent_authentication_failure');
    const failed = await stripe.paymentIntents.retrieve(pi.id);
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.last_payment_error.payd_code, 303);
    assert.equal(failed.amount_received, 0);

    const ok = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    assert.equal(ok.status, 'succeeded');
    assert.equal(ok.amount_received, 5000);
  });

  it('timeout after the money is taken: processing, a second confirm is refused, then succeeded once', async () => {
    const cur = 'gbp';
    const b0 = await balanceOf(stripe, cur);
    const pi = await stripe.paymentIntents.create({
      amount: 4321,
      currency: cur,
      confirm: true,
      payment_method_data: card('4000000000400202'),
    });
    assert.equal(pi.status, 'processing');
    assert.equal(pi.amount_received, 0);
    assert.equal(pi.attempts.length, 1);
    assert.equal(pi.attempts[0].status, 'unknown');
    assert.equal(pi.attempts[0].payd_code, 202);

    // A second confirm while the outcome is unknown must not charge again.
    const again = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' }));
    assert.ok(again.raw, `refused with an API error: ${again}`);
    assert.ok([202, 412].includes(again.raw.payd_code), `payd_code ${again.raw.payd_code}`);
    const still = await stripe.paymentIntents.retrieve(pi.id);
    assert.ok(['processing', 'succeeded'].includes(still.status));
    assert.equal(still.attempts.length, 1, 'no second attempt while the first is unknown');

    const done = await settle(stripe, pi.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 4321);
    assert.equal(done.attempts.length, 1);
    assert.equal(done.attempts[0].status, 'succeeded');
    const b1 = await balanceOf(stripe, cur);
    assert.equal(b1.available - b0.available, 4321, 'counted once in the balance');

    const processing = await eventsOfType(stripe, 'payment_intent.processing');
    assert.ok(processing.some((e) => e.data.object.id === pi.id), 'payment_intent.processing event');
    const succeeded = await eventsOfType(stripe, 'payment_intent.succeeded');
    assert.equal(succeeded.filter((e) => e.data.object.id === pi.id).length, 1, 'one succeeded event');
  });

  it('timeout before the money is taken: processing, then requires_payment_method with last_payment_error', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1234,
      currency: 'usd',
      confirm: true,
      payment_method_data: card('4000000000400210'),
    });
    assert.equal(pi.status, 'processing');
    assert.equal(pi.attempts[0].status, 'unknown');
    assert.equal(pi.attempts[0].payd_code, 202);

    const done = await settle(stripe, pi.id);
    assert.equal(done.status, 'requires_payment_method');
    assert.equal(done.amount_received, 0);
    assert.equal(done.attempts.length, 1);
    assert.equal(done.attempts[0].status, 'failed');
    // The query found nothing: the channel never executed it (catalog 201,
    // "not executed: safe to retry").
    assert.equal(done.last_payment_error.payd_code, 201);
    assertCatalogFields(done.last_payment_error, cat.get(201));

    const failed = await eventsOfType(stripe, 'payment_intent.payment_failed');
    assert.ok(failed.some((e) => e.data.object.id === pi.id), 'payment_intent.payment_failed event');

    const retry = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    assert.equal(retry.status, 'succeeded');
    assert.equal(retry.amount_received, 1234);
    assert.equal(retry.attempts.length, 2);
  });

  it('a timeout with manual capture settles to requires_capture', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 999,
      currency: 'usd',
      confirm: true,
      capture_method: 'manual',
      payment_method_data: card('4000000000400202'),
    });
    assert.equal(pi.status, 'processing');
    const done = await settle(stripe, pi.id);
    assert.equal(done.status, 'requires_capture');
    assert.equal(done.amount_capturable, 999);
    const captured = await stripe.paymentIntents.capture(pi.id);
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 999);
  });

  it('the issue-text timeout numbers (…0202, …0210) are accepted too', async () => {
    for (const [number, final] of [
      ['4000000000000202', 'succeeded'],
      ['4000000000000210', 'requires_payment_method'],
    ]) {
      const pi = await stripe.paymentIntents.create({
        amount: 101,
        currency: 'usd',
        confirm: true,
        payment_method_data: card(number),
      });
      assert.equal(pi.status, 'processing', number);
      assert.equal((await settle(stripe, pi.id)).status, final, number);
    }
  });

  it('records events for every state change, filterable by type', async () => {
    const ok = await stripe.paymentIntents.create({
      amount: 4400,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { tag: uniq('ev') },
    });
    const bad = await rejection(
      stripe.paymentIntents.create({ amount: 4400, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true })
    );
    const cancel = await stripe.paymentIntents.create({ amount: 4400, currency: 'usd' });
    await stripe.paymentIntents.cancel(cancel.id);

    const succeeded = await eventsOfType(stripe, 'payment_intent.succeeded');
    assert.ok(succeeded.length > 0);
    assert.ok(succeeded.every((e) => e.type === 'payment_intent.succeeded'), 'the type filter holds');
    const ev = succeeded.find((e) => e.data.object.id === ok.id);
    assert.ok(ev, 'payment_intent.succeeded for the payment');
    assert.equal(ev.object, 'event');
    assert.equal(ev.data.object.status, 'succeeded');
    assert.equal(ev.data.object.amount_received, 4400);

    const failed = await eventsOfType(stripe, 'payment_intent.payment_failed');
    const fev = failed.find((e) => e.data.object.id === bad.payment_intent.id);
    assert.ok(fev, 'payment_intent.payment_failed for the decline');
    assert.equal(fev.data.object.last_payment_error.payd_code, 107);

    const canceled = await eventsOfType(stripe, 'payment_intent.canceled');
    assert.ok(canceled.some((e) => e.data.object.id === cancel.id), 'payment_intent.canceled');

    const one = await stripe.events.retrieve(ev.id);
    assert.equal(one.id, ev.id);
    assert.equal(one.type, 'payment_intent.succeeded');
    assert.deepEqual(one.data.object, ev.data.object);
  });
});
