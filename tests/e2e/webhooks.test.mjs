// webhooks: endpoints in Stripe's shape, driven by the official stripe
// client; deliveries to a real receiver verified with the client's own
// webhooks.constructEvent; a receiver that fails several times before it
// takes the event (every attempt recorded); secret rotation with an
// overlap; an endpoint that keeps failing is disabled with an alert;
// redelivery on demand; URLs that point at link-local, metadata or
// private addresses refused; and payd killed with SIGKILL while
// deliveries are pending: after the restart every event still arrives.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, startPaydWithConfig, waitFor, uniq, rejection } from './harness.mjs';
import { startReceiver } from './receiver.mjs';

const stripeLib = new Stripe('sk_test_unused');
const WEBHOOKS = {
  timeout_ms: 2000,
  backoff_first_ms: 50,
  backoff_max_ms: 400,
  allow_private_networks: true,
};

function verify(req, secret) {
  return stripeLib.webhooks.constructEvent(req.raw, req.headers['stripe-signature'], secret);
}

async function pay(stripe, pm = 'pm_card_visa', extra = {}) {
  return stripe.paymentIntents.create(
    { amount: 1234, currency: 'usd', payment_method: pm, confirm: true, ...extra },
    { idempotencyKey: uniq('pay') }
  );
}

describe('webhook endpoints and deliveries', () => {
  let payd;
  let stripe;
  let receiver;

  before(async () => {
    receiver = await startReceiver();
    payd = await startPaydWithConfig({ webhooks: { ...WEBHOOKS, disable_after_failures: 4, disable_after_ms: 0 } });
    stripe = payd.stripe();
  });

  after(async () => {
    await payd?.stop();
    await receiver?.close();
  });

  test('an endpoint is created, read, listed, updated and deleted in Stripe\'s shape', async () => {
    const ep = await stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['payment_intent.succeeded', 'refund.created'],
      description: 'orders',
      metadata: { team: 'pay' },
    });
    assert.match(ep.id, /^we_/);
    assert.equal(ep.object, 'webhook_endpoint');
    assert.match(ep.secret, /^whsec_[A-Za-z0-9]{32}$/);
    assert.equal(ep.status, 'enabled');
    assert.deepEqual(ep.enabled_events, ['payment_intent.succeeded', 'refund.created']);
    const read = await stripe.webhookEndpoints.retrieve(ep.id);
    assert.equal(read.secret, undefined, 'the secret is shown once, at creation');
    assert.equal(read.description, 'orders');
    assert.deepEqual(read.metadata, { team: 'pay' });
    const list = await stripe.webhookEndpoints.list({ limit: 10 });
    assert.ok(list.data.some((e) => e.id === ep.id));
    const upd = await stripe.webhookEndpoints.update(ep.id, { disabled: true, enabled_events: ['*'] });
    assert.equal(upd.status, 'disabled');
    assert.deepEqual(upd.enabled_events, ['*']);
    const gone = await stripe.webhookEndpoints.del(ep.id);
    assert.deepEqual({ id: gone.id, deleted: gone.deleted }, { id: ep.id, deleted: true });
    const err = await rejection(stripe.webhookEndpoints.retrieve(ep.id));
    assert.equal(err.statusCode, 404);
  });

  test('bad endpoint parameters are refused and nothing is written', async () => {
    const before = await stripe.webhookEndpoints.list({ limit: 100 });
    const cases = [
      [{ enabled_events: ['*'] }, 'url'],
      [{ url: receiver.url }, 'enabled_events'],
      [{ url: receiver.url, enabled_events: ['payment_intent.exploded'] }, 'enabled_events'],
      [{ url: receiver.url, enabled_events: [] }, 'enabled_events'],
      [{ url: 'ftp://example.com/x', enabled_events: ['*'] }, 'url'],
      [{ url: 'http://user:pw@example.com/x', enabled_events: ['*'] }, 'url'],
      [{ url: 'not a url', enabled_events: ['*'] }, 'url'],
      [{ url: receiver.url, enabled_events: ['*'], description: 'x'.repeat(5001) }, 'description'],
    ];
    for (const [params, param] of cases) {
      const res = await payd.request('POST', '/v1/webhook_endpoints', { body: params });
      assert.equal(res.status, 400, JSON.stringify(params));
      assert.equal(res.body.error.param, param, JSON.stringify(params));
    }
    const after = await stripe.webhookEndpoints.list({ limit: 100 });
    assert.equal(after.data.length, before.data.length);
  });

  test('a receiver that fails three times then succeeds gets the event, signed, once accepted', async () => {
    const flaky = await startReceiver((req, n) => ({ status: n <= 3 ? 500 : 200, body: 'nope' }));
    try {
      const ep = await stripe.webhookEndpoints.create({ url: flaky.url, enabled_events: ['payment_intent.succeeded'] });
      const pi = await pay(stripe);
      await flaky.waitFor((r) => r.length >= 4, 15_000, 'four attempts');
      const event = verify(flaky.requests[3], ep.secret);
      assert.equal(event.type, 'payment_intent.succeeded');
      assert.equal(event.data.object.id, pi.id);
      for (const r of flaky.requests.slice(0, 4)) assert.equal(r.json.id, event.id, 'every attempt carries the same event');
      // Every attempt is recorded: time, status, latency, error.
      const deliveries = await waitFor(async () => {
        const res = await payd.request('GET', `/v1/events/${event.id}/deliveries`);
        const d = res.body.data.find((x) => x.webhook_endpoint === ep.id);
        return d && d.status === 'delivered' ? d : null;
      }, { what: 'the delivery recorded as delivered' });
      assert.deepEqual(deliveries.attempts.map((a) => a.status), [500, 500, 500, 200]);
      assert.match(deliveries.attempts[0].error, /HTTP 500: nope/);
      for (const a of deliveries.attempts) {
        assert.ok(a.latency_ms >= 0 && Number.isInteger(a.started_ms));
      }
      // In order, one after the other (the schedule itself: unit tests).
      for (let i = 1; i < 4; i++) assert.ok(deliveries.attempts[i].started_ms > deliveries.attempts[i - 1].started_ms);
      assert.deepEqual(deliveries.attempts.map((a) => a.attempt), [1, 2, 3, 4]);
      await payd.request('DELETE', `/v1/webhook_endpoints/${ep.id}`);
    } finally {
      await flaky.close();
    }
  });

  test('a forged or changed payload does not verify', async () => {
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['payment_intent.succeeded'] });
    const pi = await pay(stripe);
    const [req] = (await receiver.waitFor((r) => r.some((x) => x.json?.data?.object?.id === pi.id))).filter(
      (x) => x.json?.data?.object?.id === pi.id
    );
    assert.equal(verify(req, ep.secret).data.object.id, pi.id);
    const changed = { ...req, raw: req.raw.replace('"amount":1234', '"amount":9999') };
    assert.throws(() => verify(changed, ep.secret), /signature/i);
    assert.throws(() => verify(req, 'whsec_' + 'x'.repeat(32)), /signature/i);
    await stripe.webhookEndpoints.del(ep.id);
  });

  test('a rolled secret: both sign during the overlap, the old one is refused after', async () => {
    const rx = await startReceiver();
    try {
      const ep = await stripe.webhookEndpoints.create({ url: rx.url, enabled_events: ['payment_intent.succeeded'] });
      const rolled = await payd.request('POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`, { body: { overlap_seconds: 3600 } });
      assert.equal(rolled.status, 200);
      const fresh = rolled.body.secret;
      assert.match(fresh, /^whsec_/);
      assert.notEqual(fresh, ep.secret);
      assert.ok(rolled.body.previous_secret_expires_at > Date.now() / 1000);
      const during = await pay(stripe);
      const [one] = (await rx.waitFor((r) => r.some((x) => x.json?.data?.object?.id === during.id))).filter(
        (x) => x.json?.data?.object?.id === during.id
      );
      assert.equal(one.headers['stripe-signature'].split(',').filter((p) => p.startsWith('v1=')).length, 2);
      assert.equal(verify(one, ep.secret).data.object.id, during.id, 'old secret valid during the overlap');
      assert.equal(verify(one, fresh).data.object.id, during.id, 'new secret valid');
      // A second overlap would cut the first short: refused.
      const twice = await payd.request('POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`, { body: { overlap_seconds: 60 } });
      assert.equal(twice.status, 400);
      assert.equal(twice.body.error.param, 'overlap_seconds');
      const huge = await payd.request('POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`, { body: { overlap_seconds: '9223372036854776' } });
      assert.equal(huge.status, 400, 'an overlap past the limit (and past int64 ms) is refused');
      // Roll again with no overlap: only the newest signs.
      const again = await payd.request('POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`, { body: { overlap_seconds: 0 } });
      const newest = again.body.secret;
      const later = await pay(stripe);
      const [two] = (await rx.waitFor((r) => r.some((x) => x.json?.data?.object?.id === later.id))).filter(
        (x) => x.json?.data?.object?.id === later.id
      );
      assert.equal(verify(two, newest).data.object.id, later.id);
      assert.throws(() => verify(two, fresh), /signature/i, 'the replaced secret is refused');
      assert.throws(() => verify(two, ep.secret), /signature/i, 'the first secret is refused');
      const bad = await payd.request('POST', `/v1/webhook_endpoints/${ep.id}/roll_secret`, { body: { overlap_seconds: -1 } });
      assert.equal(bad.status, 400);
      await stripe.webhookEndpoints.del(ep.id);
    } finally {
      await rx.close();
    }
  });

  test('an endpoint that keeps failing is disabled with an alert; enabled again, its pending deliveries go out', async () => {
    const down = await startReceiver(() => ({ status: 503 }));
    try {
      const ep = await stripe.webhookEndpoints.create({ url: down.url, enabled_events: ['payment_intent.succeeded'] });
      const first = await pay(stripe);
      const disabled = await waitFor(async () => {
        const e = await stripe.webhookEndpoints.retrieve(ep.id);
        return e.status === 'disabled' ? e : null;
      }, { what: 'the endpoint disabled', timeoutMs: 15_000 });
      assert.match(disabled.disabled_reason, /4 deliveries failed in a row/);
      const alerts = await payd.request('GET', '/v1/alerts?status=open');
      const alert = alerts.body.data.find((a) => a.object_id === ep.id);
      assert.ok(alert, 'an alert is open for the endpoint');
      assert.equal(alert.kind, 'webhook_disabled');
      // Disabled: the delivery under retry waits, it is not dropped.
      const events = await payd.request('GET', '/v1/events?type=payment_intent.succeeded&limit=100');
      const firstEvent = events.body.data.find((e) => e.data.object.id === first.id);
      const waiting = await payd.request('GET', `/v1/events/${firstEvent.id}/deliveries`);
      assert.equal(waiting.body.data.find((d) => d.webhook_endpoint === ep.id).status, 'pending');
      // Enabled again (and the endpoint fixed): it goes out, the alert resolves.
      down.setAnswer(() => ({ status: 200 }));
      const enabled = await stripe.webhookEndpoints.update(ep.id, { disabled: false });
      assert.equal(enabled.status, 'enabled');
      const resolved = await payd.request('GET', `/v1/alerts/${alert.id}`);
      assert.equal(resolved.body.status, 'resolved');
      await down.waitFor((r) => r.some((x) => x.status === 200 && x.json?.id === firstEvent.id), 15_000, 'the waiting delivery');
      assert.equal(verify(down.requests.find((x) => x.status === 200 && x.json?.id === firstEvent.id), ep.secret).data.object.id, first.id);
      await stripe.webhookEndpoints.del(ep.id);
    } finally {
      await down.close();
    }
  });

  test('an event is sent again on demand', async () => {
    const rx = await startReceiver();
    try {
      const ep = await stripe.webhookEndpoints.create({ url: rx.url, enabled_events: ['payment_intent.created'] });
      const pi = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
      await rx.waitFor((r) => r.length >= 1);
      const eventId = rx.requests[0].json.id;
      assert.equal(rx.requests[0].json.data.object.id, pi.id);
      const res = await payd.request('POST', `/v1/events/${eventId}/redeliver`, { body: { endpoint: ep.id } });
      assert.equal(res.status, 200);
      assert.equal(res.body.data.length, 1);
      await rx.waitFor((r) => r.length >= 2, 10_000, 'the redelivery');
      assert.equal(verify(rx.requests[1], ep.secret).id, eventId);
      const missing = await payd.request('POST', '/v1/events/evt_nope/redeliver', { body: {} });
      assert.equal(missing.status, 404);
      await stripe.webhookEndpoints.del(ep.id);
    } finally {
      await rx.close();
    }
  });

  test('URLs to link-local, metadata and (by default) private addresses are refused', async () => {
    const strict = await startPayd();
    try {
      const refused = [
        'http://169.254.169.254/latest/meta-data/',
        'http://[::ffff:a9fe:a9fe]/',
        'http://2852039166/',
        'http://0xA9FEA9FE/',
        'http://metadata.google.internal/computeMetadata/v1/',
        'http://100.100.100.200/',
        'http://[fe80::1]/',
        'http://0.0.0.0:8080/',
        'http://127.0.0.1:9/hooks',
        'http://localhost:9/hooks',
        'http://10.0.0.8/hooks',
        'http://192.168.1.10/hooks',
      ];
      for (const url of refused) {
        const res = await strict.request('POST', '/v1/webhook_endpoints', { body: { url, enabled_events: ['*'] } });
        assert.equal(res.status, 400, url);
        assert.equal(res.body.error.param, 'url', url);
      }
      // With allow_private_networks, loopback is fine; link-local never is.
      const ok = await payd.request('POST', '/v1/webhook_endpoints', { body: { url: 'http://127.0.0.1:9/x', enabled_events: ['refund.failed'] } });
      assert.equal(ok.status, 200);
      await payd.request('DELETE', `/v1/webhook_endpoints/${ok.body.id}`);
      const meta = await payd.request('POST', '/v1/webhook_endpoints', { body: { url: 'http://169.254.169.254/', enabled_events: ['*'] } });
      assert.equal(meta.status, 400);
      const list = await strict.request('GET', '/v1/webhook_endpoints');
      assert.equal(list.body.data.length, 0, 'nothing was written');
    } finally {
      await strict.stop();
    }
  });
});

describe('a slow endpoint', () => {
  test('never delays the others: its attempts stay within its own limit', async () => {
    // The slow endpoint never answers within the test; each of its attempts
    // times out after 3 s and is tried again at once (backoff 50 ms), so a
    // third request there would mean the fast one waited past a timeout.
    const slow = await startReceiver(() => ({ status: 200, delayMs: 30_000 }));
    const fast = await startReceiver();
    const payd = await startPaydWithConfig({ webhooks: { ...WEBHOOKS, timeout_ms: 3000, per_endpoint: 2 } });
    try {
      const stripe = payd.stripe();
      await stripe.webhookEndpoints.create({ url: slow.url, enabled_events: ['payment_intent.succeeded'] });
      await stripe.webhookEndpoints.create({ url: fast.url, enabled_events: ['payment_intent.succeeded'] });
      const ids = [];
      for (let i = 0; i < 10; i++) ids.push((await pay(stripe)).id);
      await fast.waitFor((r) => ids.every((id) => r.some((x) => x.json?.data?.object?.id === id)), 15_000, 'all ten at the fast endpoint');
      assert.ok(slow.requests.length <= 2, `the slow endpoint has only its limit under way, and no retry yet (${slow.requests.length})`);
    } finally {
      await payd.stop();
      await slow.close();
      await fast.close();
    }
  });
});

describe('deliveries survive SIGKILL', () => {
  test('payd killed while deliveries are pending: after the restart every event arrives', async () => {
    const rx = await startReceiver(() => ({ status: 503 }));
    const payd = await startPaydWithConfig({ webhooks: WEBHOOKS });
    try {
      const stripe = payd.stripe();
      const ep = await stripe.webhookEndpoints.create({ url: rx.url, enabled_events: ['payment_intent.succeeded'] });
      const ids = [];
      for (let i = 0; i < 40; i++) ids.push((await pay(stripe)).id);
      await rx.waitFor((r) => r.length >= 10, 15_000, 'attempts under way');
      await payd.kill9();
      rx.setAnswer(() => ({ status: 200 }));
      await payd.restart();
      const wanted = new Set(ids);
      await rx.waitFor((r) => {
        const got = new Set(r.filter((x) => x.json).map((x) => x.json.data.object.id));
        return [...wanted].every((id) => got.has(id));
      }, 30_000, 'every event after the restart');
      for (const r of rx.requests.filter((x) => x.json).slice(-5)) verify(r, ep.secret);
      const events = await payd.request('GET', '/v1/events?type=payment_intent.succeeded&limit=100');
      const fromApi = new Set(events.body.data.map((e) => e.id));
      const received = new Set(rx.requests.filter((x) => x.json).map((x) => x.json.id));
      for (const id of fromApi) assert.ok(received.has(id), `event ${id} was delivered`);
    } finally {
      await payd.stop();
      await rx.close();
    }
  });
});
