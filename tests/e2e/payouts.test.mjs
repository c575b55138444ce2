// payouts: money paid out through payd-sim's bank rails and tracked until
// it has arrived — the paid path with its timeline, an invalid account, a
// return after paid (the balance restored exactly), forged, replayed,
// unknown and duplicated callbacks, no callback at all (polling settles
// it), an overdue payout's alert raised, escalated and resolved, and the
// backup rail taking over when the primary is down.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { startPayd, waitFor, uniq, balanceOf } from './harness.mjs';
import { startSim, simChannel, simBank } from './sim.mjs';

// Fast tracking for tests: polls from 200 ms, overdue 400 ms after the
// expected arrival, escalated every 600 ms.
const PAYOUTS = { poll_first_ms: 200, poll_max_ms: 1000, arrival_grace_ms: 400, escalate_ms: 600 };
const CN_ACCOUNT = { account_number: '6222020200112233446', account_holder_name: 'Li Lei', country: 'CN', bank_code: 'ICBKCNBJ' };

describe('payouts through payd-sim bank rails', () => {
  let sim;
  let payd;

  before(async () => {
    sim = await startSim({
      seed: 11,
      channels: [simChannel('acq_a', 'acquirer'), simBank('bank_a'), simBank('bank_b', { idempotent: false })],
    });
    const config = await sim.writePaydConfig({ timeoutMs: 1000, payouts: PAYOUTS });
    payd = await startPayd({ args: ['--config', config] });
    await sim.callbacksTo(payd.url);
    // Funds to pay out: a card payment of 1,000,000.00.
    const stripe = payd.stripe();
    const pi = await stripe.paymentIntents.create(
      { amount: 100000000, currency: 'cny', payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: uniq('fund') }
    );
    assert.equal(pi.status, 'succeeded');
  });

  after(async () => {
    await payd?.stop();
    await sim?.stop();
  });

  const post = (path, body, headers) => payd.request('POST', path, { body, headers });
  const get = (path) => payd.request('GET', path);

  async function payout(extra = {}) {
    const res = await post('/v1/payouts', { amount: 5000, currency: 'cny', bank_account: CN_ACCOUNT, ...extra }, {
      'Idempotency-Key': uniq('po'),
    });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async function settled(id, status) {
    return waitFor(
      async () => {
        const res = await get(`/v1/payouts/${id}`);
        return res.body.status === status ? res.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `payout ${id} ${status}` }
    );
  }

  test('a payout to a saved recipient is paid, with its timeline and trace id', async () => {
    const before = await balanceOf(payd.stripe(), 'cny');
    const rcp = await post('/v1/recipients', { name: 'Li Lei', currency: 'cny', bank_account: CN_ACCOUNT });
    assert.equal(rcp.status, 200, rcp.text);
    assert.equal(rcp.body.bank_account.last4, '3446');
    assert.ok(!rcp.text.includes(CN_ACCOUNT.account_number), 'the number is never shown');
    const po = await payout({ destination: rcp.body.id, bank_account: undefined });
    assert.equal(po.status, 'pending');
    assert.equal(po.destination, rcp.body.id);
    const held = await balanceOf(payd.stripe(), 'cny');
    assert.equal(held.available, before.available - 5000, 'the amount is held at once');

    const paid = await settled(po.id, 'paid');
    assert.equal(paid.rail, 'bank_a');
    assert.match(paid.trace_id.value, /^BANKA-/);
    assert.ok(paid.arrived_at);
    assert.deepEqual(
      paid.timeline.map((t) => t.status).filter((s, i, all) => s !== all[i - 1]),
      ['pending', 'in_transit', 'paid']
    );
    const after = await balanceOf(payd.stripe(), 'cny');
    assert.equal(after.available, before.available - 5000);
    const types = [];
    for (const type of ['payout.created', 'payout.updated', 'payout.paid']) {
      const ev = await get(`/v1/events?type=${type}`);
      if (ev.body.data.some((e) => e.data.object.id === po.id)) types.push(type);
    }
    assert.deepEqual(types, ['payout.created', 'payout.updated', 'payout.paid']);
    const books = await sim.books();
    const mine = books.channels.bank_a.payouts.filter((p) => p.trace_id === paid.trace_id.value);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].executions, 1);
    assert.equal(mine[0].account_last4, '3446');
  });

  test('an invalid account fails with its code and a message in Chinese, and the money comes back', async () => {
    await sim.setChannel('bank_a', { payout_outcomes: { 'failed:AC01': 1 } });
    try {
      const before = await balanceOf(payd.stripe(), 'cny');
      const po = await payout();
      const failed = await settled(po.id, 'failed');
      assert.equal(failed.payd_code, 604);
      assert.equal(failed.failure_reason, 'AC01');
      const zh = await payd.request('GET', `/v1/payouts/${po.id}`, { headers: { 'Accept-Language': 'zh-CN' } });
      assert.match(zh.body.user_message, /[\u4e00-\u9fff]/);
      const after = await balanceOf(payd.stripe(), 'cny');
      assert.equal(after.available, before.available);
    } finally {
      await sim.setChannel('bank_a', { payout_outcomes: { paid: 1 } });
    }
  });

  test('a payout returned after it was paid turns failed and the balance is restored exactly', async () => {
    await sim.setChannel('bank_a', { payout_outcomes: { 'returned:AC04': 1 } });
    try {
      const before = await balanceOf(payd.stripe(), 'cny');
      const po = await payout({ amount: 12345 });
      const failed = await settled(po.id, 'failed');
      assert.equal(failed.payd_code, 605);
      assert.equal(failed.failure_reason, 'AC04');
      assert.ok(failed.timeline.some((t) => t.status === 'paid'), 'it was paid first');
      const after = await balanceOf(payd.stripe(), 'cny');
      assert.equal(after.available, before.available);
      const events = await get(`/v1/events?type=payout.failed`);
      assert.ok(events.body.data.some((ev) => ev.data.object.id === po.id));
    } finally {
      await sim.setChannel('bank_a', { payout_outcomes: { paid: 1 } });
    }
  });

  test('a return whose callback is lost is found by polling the paid payout', async () => {
    // Returned 2 s after it was paid (scenario: 2000 s at time_scale 1000):
    // payd has seen it paid by then, and finds the return by polling.
    const later = { min: 2000000, p50: 2000000, p99: 2000000 };
    await sim.setChannel('bank_a', {
      payout_outcomes: { 'returned:AC04': 1 }, callback_drop_rate: 1, return_after_ms: later,
    });
    try {
      const before = await balanceOf(payd.stripe(), 'cny');
      const po = await payout({ amount: 2468 });
      const failed = await settled(po.id, 'failed');
      assert.equal(failed.payd_code, 605);
      assert.ok(failed.timeline.some((t) => t.status === 'paid'));
      assert.ok(!failed.timeline.some((t) => t.source === 'callback'), 'no callback came');
      const after = await balanceOf(payd.stripe(), 'cny');
      assert.equal(after.available, before.available);
    } finally {
      const back = { min: 20000, p50: 20000, p99: 20000 };
      await sim.setChannel('bank_a', { payout_outcomes: { paid: 1 }, callback_drop_rate: 0, return_after_ms: back });
    }
  });

  function signed(body, secret, t = Math.floor(Date.now() / 1000)) {
    const mac = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    return `t=${t},v1=${mac}`;
  }

  test('forged, replayed, unknown and duplicated callbacks change nothing', async () => {
    const body = JSON.stringify({
      id: 'cb_test_1', type: 'payout.state', reference: 'pa_nope', state: 'paid', status: 'ACSC',
      reason: null, trace_id: 'X', at_ms: Date.now(), message: 'forged',
    });
    const path = '/v1/channel_callbacks/bank_a';
    const send = (sig) =>
      payd.request('POST', path, { key: null, body, headers: { 'Content-Type': 'application/json', ...(sig ? { 'X-Payd-Signature': sig } : {}) } });
    assert.equal((await send(null)).status, 401, 'unsigned');
    assert.equal((await send(signed(body, 'not-the-secret'))).status, 401, 'forged');
    assert.equal((await send(signed(body, 'secret-bank_a', Math.floor(Date.now() / 1000) - 3600))).status, 401, 'replayed');
    assert.equal((await send(signed(body, 'secret-bank_a'))).status, 404, 'about no payout of ours');

    // Every callback delivered twice: applied once.
    await sim.setChannel('bank_a', { callback_duplicate_rate: 1 });
    try {
      const po = await payout();
      const paid = await settled(po.id, 'paid');
      assert.equal(paid.timeline.filter((t) => t.source === 'callback' && t.status === 'paid').length, 1);
      const stats = await (await fetch(`${sim.admin}/admin/stats`)).json();
      assert.ok(stats.channels.bank_a.callbacks.duplicated > 0);
    } finally {
      await sim.setChannel('bank_a', { callback_duplicate_rate: 0 });
    }
  });

  test('with no callback at all, polling settles the payout', async () => {
    await sim.setChannel('bank_a', { callback_drop_rate: 1 });
    try {
      const po = await payout();
      const paid = await settled(po.id, 'paid');
      assert.ok(paid.timeline.some((t) => t.source === 'poll'));
      assert.ok(!paid.timeline.some((t) => t.source === 'callback'));
    } finally {
      await sim.setChannel('bank_a', { callback_drop_rate: 0 });
    }
  });

  test('a late payout raises an alert, escalates, and the alert resolves when it is paid', async () => {
    await sim.setChannel('bank_a', { payout_outcomes: { stuck: 1 } });
    let po;
    try {
      po = await payout();
      const alert = await waitFor(
        async () => {
          const res = await get('/v1/alerts?status=open');
          return res.body.data.find((a) => a.object_id === po.id && a.level >= 2);
        },
        { timeoutMs: 15_000, intervalMs: 50, what: 'an escalated overdue alert' }
      );
      assert.equal(alert.kind, 'payout_overdue');
      const late = await get(`/v1/payouts/${po.id}`);
      assert.equal(late.body.status, 'in_transit');
      assert.ok(late.body.overdue_level >= 2);
      const events = await get('/v1/events?type=payout.overdue');
      assert.ok(events.body.data.some((ev) => ev.data.object.id === po.id));
    } finally {
      await sim.setChannel('bank_a', { payout_outcomes: { paid: 1 }, release_stuck: 'paid' });
    }
    await settled(po.id, 'paid');
    const alerts = await get('/v1/alerts?status=resolved');
    assert.ok(alerts.body.data.some((a) => a.object_id === po.id && a.status === 'resolved'));
  });

  test('when the primary rail is down, the backup pays', async () => {
    await sim.setChannel('bank_a', { outage: 'refuse' });
    try {
      const po = await payout();
      const paid = await settled(po.id, 'paid');
      assert.equal(paid.rail, 'bank_b');
      assert.match(paid.trace_id.value, /^BANKB-/);
      assert.ok(paid.timeline.some((t) => /bank_a did not take it/.test(t.message ?? '')));
    } finally {
      await sim.setChannel('bank_a', { outage: 'none' });
    }
  });

  test('the balance shows what payouts hold, and a late in_transit callback never undoes paid', async () => {
    await sim.setChannel('bank_a', { callback_late_rate: 1, payout_outcomes: { stuck: 1 } });
    let po;
    try {
      po = await payout({ amount: 7000 });
      const b = await get('/v1/balance');
      const held = b.body.held.find((x) => x.currency === 'cny');
      assert.ok(held && held.amount >= 7000, JSON.stringify(b.body));
    } finally {
      await sim.setChannel('bank_a', { payout_outcomes: { paid: 1 }, release_stuck: 'paid' });
    }
    const paid = await settled(po.id, 'paid');
    // The held-back in_transit callback arrives after paid: still paid.
    await waitFor(async () => {
      const stats = await (await fetch(`${sim.admin}/admin/stats`)).json();
      return stats.channels.bank_a.callbacks.held_back > 0;
    }, { timeoutMs: 5000, what: 'a callback held back' });
    const again = await get(`/v1/payouts/${po.id}`);
    assert.equal(again.body.status, 'paid');
    assert.equal(again.body.timeline.length, paid.timeline.length);
    await sim.setChannel('bank_a', { callback_late_rate: 0 });
  });

  test('a payout no rail will take waits, and can be canceled: the money comes back', async () => {
    await sim.setChannel('bank_a', { outage: 'refuse' });
    await sim.setChannel('bank_b', { outage: 'refuse' });
    try {
      const before = await balanceOf(payd.stripe(), 'cny');
      const po = await payout({ amount: 4242 });
      await waitFor(async () => {
        const now = await get(`/v1/payouts/${po.id}`);
        return now.body.timeline.some((t) => /bank_b did not take it/.test(t.message ?? ''));
      }, { timeoutMs: 10_000, what: 'both rails refused' });
      // While a retry is out at a rail the payout cannot be canceled (that
      // rail might take it); between retries it can.
      const canceled = await waitFor(async () => {
        const res = await post(`/v1/payouts/${po.id}/cancel`, {});
        if (res.status === 400) assert.match(res.body.error.message, /was sent to bank_/);
        return res.status === 200 ? res : undefined;
      }, { timeoutMs: 10_000, intervalMs: 20, what: 'a cancel between two retries' });
      assert.equal(canceled.body.status, 'canceled');
      assert.deepEqual(await balanceOf(payd.stripe(), 'cny'), before);
      const again = await post(`/v1/payouts/${po.id}/cancel`, {});
      assert.equal(again.status, 400);
    } finally {
      await sim.setChannel('bank_a', { outage: 'none' });
      await sim.setChannel('bank_b', { outage: 'none' });
    }
  });

  test('a payout beyond the available balance is refused and holds nothing', async () => {
    const before = await balanceOf(payd.stripe(), 'cny');
    const res = await post('/v1/payouts', { amount: before.available + 1, currency: 'cny', bank_account: CN_ACCOUNT });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.payd_code, 419);
    assert.deepEqual(await balanceOf(payd.stripe(), 'cny'), before);
  });

  test('payouts list by status and creation time', async () => {
    const paid = await get('/v1/payouts?status=paid&limit=100');
    assert.equal(paid.status, 200);
    assert.ok(paid.body.data.length > 0);
    assert.ok(paid.body.data.every((p) => p.status === 'paid'));
    const now = Math.floor(Date.now() / 1000);
    const future = await get(`/v1/payouts?created[gt]=${now + 3600}`);
    assert.deepEqual(future.body.data, []);
    const all = await get(`/v1/payouts?created[lte]=${now + 3600}&limit=100`);
    assert.ok(all.body.data.length >= paid.body.data.length);
    const bad = await get('/v1/payouts?status=lost');
    assert.equal(bad.status, 400);
  });

  test('bad accounts and parameters are refused with the field named', async () => {
    const bad = await post('/v1/payouts', { amount: 100, currency: 'cny', bank_account: { ...CN_ACCOUNT, account_number: '6222020200112233445' } });
    assert.equal(bad.body.error.payd_code, 604, 'a wrong check digit (Luhn)');
    assert.equal(bad.status, 402, "the catalog's status for 604");
    assert.equal(bad.body.error.param, 'bank_account[account_number]');
    const iban = await post('/v1/recipients', {
      name: 'Hans', currency: 'eur',
      bank_account: { account_number: 'DE89370400440532013001', account_holder_name: 'Hans', country: 'DE', bank_code: 'COBADEFF' },
    });
    assert.equal(iban.body.error?.payd_code, 604, 'a wrong IBAN check digit');
    const neither = await post('/v1/payouts', { amount: 100, currency: 'cny' });
    assert.equal(neither.status, 400);
    assert.equal(neither.body.error.param, 'destination');
    // Spaces do not count, and a number is never cut to fit: 30 digits
    // written with spaces are taken whole; 36 are refused.
    const jp = (account_number) => ({
      amount: 100, currency: 'cny',
      bank_account: { account_number, account_holder_name: 'Sato', country: 'JP', bank_code: '0001' },
    });
    const spaced = await post('/v1/payouts', jp('1234 5678 9012 3456 7890 1234 5678 90'));
    assert.equal(spaced.status, 200, spaced.text);
    assert.equal(spaced.body.bank_account.last4, '7890');
    const long = await post('/v1/payouts', jp('123456789012345678901234567890123456'));
    assert.equal(long.status, 400, long.text);
    assert.equal(long.body.error.param, 'bank_account[account_number]');
  });

  test('account numbers are nowhere in the database in clear', async () => {
    const files = [payd.db, `${payd.db}-wal`].filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    assert.ok(!bytes.includes(Buffer.from(CN_ACCOUNT.account_number)), 'the number is stored in clear');
    assert.ok(bytes.includes(Buffer.from('Li Lei')), "the files were read (the holder's name is there)");
  });
});
