// receiver: a webhook endpoint for the e2e tests — a real HTTP server on
// loopback that records every request (raw body, headers, arrival time)
// and answers with whatever `answer(request, n)` says (a status, and an
// optional delay in ms), so a test can play an endpoint that fails a few
// times, is slow, or is down.  waitFor() waits on a real condition with a
// deadline; nothing sleeps and hopes.

import http from 'node:http';

export async function startReceiver(answer = () => ({ status: 200 })) {
  const requests = [];
  const waiters = new Set();
  let respond = answer;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try {
        json = JSON.parse(raw);
      } catch {
        /* recorded as it came */
      }
      const entry = { at: Date.now(), headers: req.headers, raw, json, path: req.url };
      requests.push(entry);
      for (const w of waiters) w(); // on arrival, and again once answered
      const { status = 200, delayMs = 0, body = '' } = respond(entry, requests.length) ?? {};
      entry.status = status;
      entry.delayMs = delayMs;
      const reply = () => {
        entry.answeredAt = Date.now();
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(body);
        for (const w of waiters) w();
      };
      if (delayMs) setTimeout(reply, delayMs);
      else reply();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // a test that fails before close() must not hang the runner
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    requests,
    setAnswer(fn) {
      respond = fn;
    },
    /** Resolves with the requests once pred(requests) holds; rejects after timeoutMs. */
    waitFor(pred, timeoutMs = 15_000, what = 'webhook requests') {
      if (pred(requests)) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(requests)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(requests);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what} (${requests.length} received)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
