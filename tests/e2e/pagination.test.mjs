// pagination: Stripe's cursor lists (limit, starting_after, ending_before,
// has_more) on payment_intents, with stripe-node's auto-pagination.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { startPayd, rejection } from './harness.mjs';

const { StripeInvalidRequestError } = Stripe.errors;
const N = 25;

describe('list pagination (stripe-node)', () => {
  let payd, stripe;
  let created; // ids, oldest first
  let newestFirst;

  before(async () => {
    payd = await startPayd({ merchants: ['pages'] });
    stripe = payd.stripe();
    created = [];
    // One after another: creation order is the order the list must show.
    for (let i = 0; i < N; i++) {
      const pi = await stripe.paymentIntents.create({ amount: 100 + i, currency: 'usd', metadata: { i: String(i) } });
      created.push(pi.id);
    }
    newestFirst = [...created].reverse();
  });
  after(async () => {
    if (payd) await payd.stop();
  });

  it('the first page of 10 is the newest 10, with has_more', async () => {
    const page = await stripe.paymentIntents.list({ limit: 10 });
    assert.equal(page.object, 'list');
    assert.equal(page.url, '/v1/payment_intents');
    assert.equal(page.has_more, true);
    assert.deepEqual(
      page.data.map((pi) => pi.id),
      newestFirst.slice(0, 10)
    );
    assert.equal(page.data[0].metadata.i, String(N - 1));
  });

  it('the default limit is 10', async () => {
    const page = await stripe.paymentIntents.list();
    assert.equal(page.data.length, 10);
    assert.equal(page.has_more, true);
  });

  it('a limit above the count returns everything without has_more', async () => {
    const page = await stripe.paymentIntents.list({ limit: 100 });
    assert.equal(page.has_more, false);
    assert.deepEqual(
      page.data.map((pi) => pi.id),
      newestFirst
    );
  });

  it('autoPagingToArray visits all 25 exactly once, newest first', async () => {
    const all = await stripe.paymentIntents.list({ limit: 10 }).autoPagingToArray({ limit: 1000 });
    const ids = all.map((pi) => pi.id);
    assert.equal(ids.length, N);
    assert.equal(new Set(ids).size, N, 'no duplicates');
    assert.deepEqual(ids, newestFirst);
  });

  it('autoPagingEach with limit 7 visits all 25 exactly once', async () => {
    const seen = [];
    await stripe.paymentIntents.list({ limit: 7 }).autoPagingEach((pi) => {
      seen.push(pi.id);
    });
    assert.deepEqual(seen, newestFirst);
  });

  it('starting_after walks forward page by page', async () => {
    const pages = [];
    let cursor;
    for (;;) {
      const page = await stripe.paymentIntents.list({ limit: 10, ...(cursor ? { starting_after: cursor } : {}) });
      pages.push(page);
      if (!page.has_more) break;
      cursor = page.data.at(-1).id;
      assert.ok(pages.length <= 5, 'pagination ends');
    }
    assert.deepEqual(
      pages.map((p) => p.data.length),
      [10, 10, 5]
    );
    assert.deepEqual(
      pages.map((p) => p.has_more),
      [true, true, false]
    );
    assert.deepEqual(
      pages.flatMap((p) => p.data.map((pi) => pi.id)),
      newestFirst
    );

    const tail = await stripe.paymentIntents.list({ limit: 10, starting_after: created[0] });
    assert.deepEqual(tail.data, []);
    assert.equal(tail.has_more, false);
  });

  it('ending_before walks back towards the newest', async () => {
    const oldest = created[0];
    const page = await stripe.paymentIntents.list({ limit: 10, ending_before: oldest });
    // The 10 just newer than the cursor, still listed newest first.
    assert.deepEqual(
      page.data.map((pi) => pi.id),
      newestFirst.slice(N - 11, N - 1)
    );
    assert.equal(page.has_more, true);

    const collected = [...page.data.map((pi) => pi.id)];
    let cursor = page.data[0].id;
    let hasMore = page.has_more;
    while (hasMore) {
      const p = await stripe.paymentIntents.list({ limit: 10, ending_before: cursor });
      collected.unshift(...p.data.map((pi) => pi.id));
      hasMore = p.has_more;
      cursor = p.data[0].id;
      assert.ok(collected.length < 100, 'pagination ends');
    }
    assert.deepEqual(collected, newestFirst.slice(0, N - 1));

    const head = await stripe.paymentIntents.list({ limit: 10, ending_before: created[N - 1] });
    assert.deepEqual(head.data, []);
    assert.equal(head.has_more, false);
  });

  it('auto-pagination with ending_before visits everything newer than the cursor once', async () => {
    const ids = (
      await stripe.paymentIntents.list({ limit: 4, ending_before: created[5] }).autoPagingToArray({ limit: 1000 })
    ).map((pi) => pi.id);
    const expected = created.slice(6);
    assert.equal(ids.length, expected.length);
    assert.deepEqual([...ids].sort(), [...expected].sort());
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  });

  it('a page in the middle is consistent from both directions', async () => {
    const mid = newestFirst[12];
    const after = await stripe.paymentIntents.list({ limit: 5, starting_after: mid });
    assert.deepEqual(
      after.data.map((pi) => pi.id),
      newestFirst.slice(13, 18)
    );
    const before = await stripe.paymentIntents.list({ limit: 5, ending_before: mid });
    assert.deepEqual(
      before.data.map((pi) => pi.id),
      newestFirst.slice(7, 12)
    );
  });

  it('bad limits and cursors are 400s', async () => {
    for (const params of [{ limit: 0 }, { limit: 101 }, { limit: 'ten' }]) {
      const err = await rejection(stripe.paymentIntents.list(params));
      assert.ok(err instanceof StripeInvalidRequestError, `${JSON.stringify(params)}: ${err}`);
      assert.equal(err.statusCode, 400);
      assert.equal(err.param, 'limit');
    }
    const both = await rejection(stripe.paymentIntents.list({ starting_after: created[3], ending_before: created[1] }));
    assert.ok(both instanceof StripeInvalidRequestError, String(both));
    assert.equal(both.statusCode, 400);
  });
});
