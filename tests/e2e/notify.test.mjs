// notify: payer e-mails through libcurl's SMTP to a local SMTP sink — a
// failed payment told in Chinese with the catalog's payer message and the
// next step; a refund made, told in English; a payout that is paid, told
// to its recipient; a relay that refuses at first (451) is tried again;
// a payment with no receipt_email sends nothing; a bad receipt_email is
// refused before anything is written; a payout through a payd-sim bank
// rail told to its recipient, in the recipient's language, as it goes
// in transit and as it is paid.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPayd, startPaydWithConfig, uniq, catalog, waitFor } from './harness.mjs';
import { startSmtpSink } from './smtp_sink.mjs';
import { startSim, simChannel, simBank } from './sim.mjs';

describe('payer e-mails', () => {
  let sink;
  let payd;
  let stripe;

  before(async () => {
    sink = await startSmtpSink({ rejectFirst: 1 });
    payd = await startPaydWithConfig({
      webhooks: { backoff_first_ms: 50, backoff_max_ms: 200 },
      notify: { smtp_url: `smtp://127.0.0.1:${sink.port}`, from: 'payments@shop.example', timeout_ms: 5000 },
    });
    stripe = payd.stripe();
  });

  after(async () => {
    await payd?.stop();
    await sink?.close();
  });

  test('a failed payment is told to the payer in Chinese, with the next step', async () => {
    const codes = await catalog();
    const res = await payd.request('POST', '/v1/payment_intents', {
      body: {
        amount: 8800, currency: 'cny', payment_method: 'pm_card_chargeDeclinedInsufficientFunds', confirm: 'true',
        receipt_email: 'li.lei@example.cn', payer_language: 'zh-CN',
      },
      headers: { 'Idempotency-Key': uniq('fail') },
    });
    assert.equal(res.status, 402);
    const pi = res.body.error.payment_intent;
    assert.equal(pi.receipt_email, 'li.lei@example.cn');
    assert.equal(pi.payer_language, 'zh-CN');
    const mail = await sink.waitFor((m) => m.to.includes('li.lei@example.cn'), 15_000);
    assert.equal(mail.from, 'payments@shop.example');
    assert.ok(mail.body.includes(codes.get(101).message_zh), 'the catalog payer message in Chinese');
    assert.ok(mail.body.includes('下一步'), 'the next step');
    assert.ok(mail.body.includes(pi.id), 'the reference');
    assert.ok(!mail.body.includes(codes.get(101).description), 'never the merchant description');
    assert.match(mail.headers['content-language'], /zh-CN/);
    assert.ok(/[\u4e00-\u9fff]/.test(mail.subject), 'a Chinese subject');
  });

  test('the first refusal of the relay (451) is tried again', async () => {
    // rejectFirst: 1 made the first message's DATA fail; it still arrived.
    const events = await payd.request('GET', '/v1/events?type=payment_intent.payment_failed&limit=1');
    const deliveries = await waitFor(async () => {
      const r = await payd.request('GET', `/v1/events/${events.body.data[0].id}/deliveries`);
      const d = r.body.data.find((x) => x.kind === 'email');
      return d?.status === 'delivered' ? d : null;
    }, { what: 'the e-mail delivered' });
    assert.equal(deliveries.attempts.length, 2);
    assert.equal(deliveries.attempts[0].status, 451);
    assert.equal(deliveries.attempts[1].status, 250);
  });

  test('a refund made is told in English', async () => {
    const pi = await stripe.paymentIntents.create(
      { amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, receipt_email: 'ann@example.com' },
      { idempotencyKey: uniq('pay') }
    );
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 }, { idempotencyKey: uniq('re') });
    const mail = await sink.waitFor((m) => m.to.includes('ann@example.com') && m.body.includes(refund.id), 15_000);
    assert.match(mail.body, /refund/i);
    assert.match(mail.body, /10\.00/);
    assert.match(mail.headers['content-language'], /en/);
  });

  test('no receipt_email: no e-mail; a bad receipt_email is refused and nothing is written', async () => {
    const before = sink.messages.length;
    await stripe.paymentIntents.create(
      { amount: 100, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true },
      { idempotencyKey: uniq('quiet') }
    ).catch(() => null);
    for (const bad of ['not-an-address', 'a@b@c.d', 'x@y.z\r\nBcc: all@evil.example', 'x'.repeat(250) + '@e.example']) {
      const list = await payd.request('GET', '/v1/payment_intents?limit=1');
      const res = await payd.request('POST', '/v1/payment_intents', {
        body: { amount: 100, currency: 'usd', receipt_email: bad },
      });
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.param, 'receipt_email');
      const after = await payd.request('GET', '/v1/payment_intents?limit=1');
      assert.equal(after.body.data[0]?.id, list.body.data[0]?.id, 'nothing written');
    }
    const skipped = await waitFor(async () => {
      const ev = await payd.request('GET', '/v1/events?type=payment_intent.payment_failed&limit=1');
      const r = await payd.request('GET', `/v1/events/${ev.body.data[0].id}/deliveries`);
      const d = r.body.data.find((x) => x.kind === 'email');
      return d?.status === 'skipped' ? d : null;
    }, { what: 'the e-mail skipped' });
    assert.match(skipped.last_error, /no e-mail address/);
    assert.equal(sink.messages.length, before);
  });
});

describe('payout e-mails to recipients', () => {
  test('a payout is told to its recipient in Chinese when it is on its way and when it is paid', async () => {
    const sink = await startSmtpSink();
    const sim = await startSim({ seed: 5, channels: [simChannel('acq_a', 'acquirer'), simBank('bank_a')] });
    const config = await sim.writePaydConfig({
      timeoutMs: 1000,
      payouts: { poll_first_ms: 200, poll_max_ms: 1000 },
      notify: { smtp_url: `smtp://127.0.0.1:${sink.port}`, from: 'payouts@platform.example' },
    });
    const payd = await startPayd({ args: ['--config', config] });
    try {
      await sim.callbacksTo(payd.url);
      const stripe = payd.stripe();
      await stripe.paymentIntents.create(
        { amount: 500000, currency: 'cny', payment_method: 'pm_card_visa', confirm: true },
        { idempotencyKey: uniq('fund') }
      );
      const rcp = await payd.request('POST', '/v1/recipients', {
        body: {
          name: 'Li Lei', currency: 'cny', email: 'lilei@example.cn', preferred_language: 'zh-CN',
          bank_account: { account_number: '6222020200112233446', account_holder_name: 'Li Lei', country: 'CN', bank_code: 'ICBKCNBJ' },
        },
      });
      assert.equal(rcp.status, 200);
      assert.equal(rcp.body.email, 'lilei@example.cn');
      const po = await payd.request('POST', '/v1/payouts', {
        body: { amount: 12345, currency: 'cny', destination: rcp.body.id },
        headers: { 'Idempotency-Key': uniq('po') },
      });
      assert.equal(po.status, 200);
      const paid = await sink.waitFor((m) => m.to.includes('lilei@example.cn') && m.body.includes('已转入'), 20_000);
      assert.ok(paid.body.includes(po.body.id), 'the payout is named');
      assert.ok(paid.body.includes('123.45'), 'the amount');
      assert.match(paid.headers['content-language'], /zh-CN/);
      // In transit is told too, when payd saw the payout in transit (a rail
      // may report it paid at once).
      const events = await payd.request('GET', '/v1/events?type=payout.updated&limit=100');
      if (events.body.data.some((e) => e.data.object.id === po.body.id && e.data.object.status === 'in_transit'))
        await sink.waitFor((m) => m.to.includes('lilei@example.cn') && m.body.includes('正在转入'), 10_000);
      const bad = await payd.request('POST', '/v1/recipients', {
        body: { name: 'X', currency: 'cny', email: 'nope', bank_account: { account_number: '6222020200112233446', account_holder_name: 'X', country: 'CN', bank_code: 'ICBKCNBJ' } },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.param, 'email');
    } finally {
      await payd.stop();
      await sim.stop();
      await sink.close();
    }
  });
});
