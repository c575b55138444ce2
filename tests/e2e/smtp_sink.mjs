// smtp_sink: a tiny SMTP server for tests that check the mail payd sends
// (notify/mail).  It accepts every message on 127.0.0.1 and keeps it,
// decoded the way a mail reader would show it: the Subject's RFC 2047
// words decoded and the body's base64 (or quoted-printable) decoded as
// UTF-8.  No TLS, no AUTH: payd must be pointed at it with smtp://.
//
//   const sink = await startSmtpSink({ rejectFirst: 1 });
//   // ... make payd send to smtp://127.0.0.1:${sink.port} ...
//   const m = await sink.waitFor((m) => m.to.includes('payer@example.com'), 5000);
//   await sink.close();
//
// rejectFirst answers 451 to the first N DATA commands, so the sender has
// to retry.  Envelope addresses are kept without their angle brackets.
// Only node's `net`: no npm dependencies.

import net from 'node:net';

const LINE_MAX = 4096; // SMTP allows 1000; anything much longer is a broken client
const MESSAGE_MAX = 1 << 20; // bytes of DATA per message

/** Decodes RFC 2047 encoded words (B and Q, UTF-8 or other charsets node knows). */
export function decodeWords(text) {
  // Whitespace between two adjacent encoded words is not part of the text.
  const joined = text.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, enc, data) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(
            data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          );
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  });
}

/** Splits a raw message into unfolded headers (lower-case names, first wins) and body. */
export function parseMessage(raw) {
  const cut = raw.indexOf('\r\n\r\n');
  const head = cut < 0 ? raw : raw.slice(0, cut);
  const rawBody = cut < 0 ? '' : raw.slice(cut + 4);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  let body;
  if (cte === 'base64') {
    body = Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else if (cte === 'quoted-printable') {
    const soft = rawBody.replace(/=\r\n/g, '');
    body = Buffer.from(soft.replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } else {
    body = rawBody;
  }
  return { headers, subject: decodeWords(headers.subject || ''), body };
}

/** One SMTP session on `socket`; calls onMessage(message) for each accepted DATA. */
function serveSession(socket, state, onMessage) {
  let buffered = '';
  let inData = false;
  let data = [];
  let dataBytes = 0;
  let from = null;
  let to = [];
  const say = (text) => {
    if (!socket.destroyed) socket.write(text);
  };
  const reset = () => {
    from = null;
    to = [];
  };

  const endData = () => {
    inData = false;
    // The socket reads latin1 (one char per byte): back to bytes, then UTF-8.
    const raw = Buffer.from(data.join(''), 'latin1').toString('utf8');
    data = [];
    if (dataBytes > MESSAGE_MAX) {
      say('552 message too large\r\n');
    } else {
      onMessage({ from, to: [...to], raw, ...parseMessage(raw) });
      say('250 ok: queued\r\n');
    }
    dataBytes = 0;
    reset();
  };

  const dataLine = (line) => {
    if (line === '.\r\n') return endData();
    const text = line.startsWith('.') ? line.slice(1) : line; // dot-unstuffing
    dataBytes += Buffer.byteLength(text, 'latin1');
    if (dataBytes <= MESSAGE_MAX) data.push(text);
  };

  const command = (line) => {
    const text = line.replace(/\r?\n$/, '');
    const verb = text.slice(0, 4).toUpperCase();
    const arg = (prefix) => text.slice(prefix.length).trim();
    const path = (prefix) => arg(prefix).split(/\s+/)[0].replace(/^<(.*)>$/, '$1');
    if (verb === 'EHLO') return say('250-sink.test greets you\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n');
    if (verb === 'HELO') return say('250 sink.test\r\n');
    if (/^MAIL FROM:/i.test(text)) {
      from = path('MAIL FROM:');
      to = [];
      return say('250 ok\r\n');
    }
    if (/^RCPT TO:/i.test(text)) {
      if (from === null) return say('503 MAIL first\r\n');
      to.push(path('RCPT TO:'));
      return say('250 ok\r\n');
    }
    if (verb === 'DATA') {
      if (from === null || to.length === 0) return say('503 MAIL and RCPT first\r\n');
      if (state.rejected < state.rejectFirst) {
        state.rejected++;
        reset();
        return say('451 try again later\r\n');
      }
      inData = true;
      return say('354 end with <CRLF>.<CRLF>\r\n');
    }
    if (verb === 'RSET') {
      reset();
      return say('250 ok\r\n');
    }
    if (verb === 'NOOP') return say('250 ok\r\n');
    if (verb === 'QUIT') {
      say('221 bye\r\n');
      return socket.end();
    }
    return say('502 command not implemented\r\n');
  };

  socket.setEncoding('latin1'); // bytes in, bytes out: the body is decoded later
  socket.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl + 1);
      buffered = buffered.slice(nl + 1);
      if (inData) dataLine(line);
      else command(line);
    }
    if (buffered.length > LINE_MAX) {
      say('500 line too long\r\n');
      socket.destroy();
    }
  });
  socket.on('error', () => {}); // a client that goes away is not the test's failure
  say('220 sink.test ESMTP smtp_sink\r\n');
}

/**
 * Starts the sink on 127.0.0.1 (a free port).  Resolves with
 * { port, messages, waitFor(pred, timeoutMs), close() }; each message is
 * { from, to: [...], raw, subject, body, headers }.
 */
export async function startSmtpSink({ rejectFirst = 0 } = {}) {
  const messages = [];
  const waiters = new Set();
  const sockets = new Set();
  const state = { rejectFirst, rejected: 0 };

  const onMessage = (message) => {
    messages.push(message);
    for (const w of [...waiters]) {
      if (w.pred(message)) w.done(message);
    }
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveSession(socket, state, onMessage);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.unref(); resolve(); });
  });

  function waitFor(pred, timeoutMs = 5000) {
    const found = messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`smtp_sink: no matching message within ${timeoutMs} ms (${messages.length} received)`));
      }, timeoutMs);
      w.done = (message) => {
        clearTimeout(timer);
        waiters.delete(w);
        resolve(message);
      };
      w.fail = (err) => {
        clearTimeout(timer);
        waiters.delete(w);
        reject(err);
      };
      waiters.add(w);
    });
  }

  function close() {
    for (const s of sockets) s.destroy();
    for (const w of [...waiters]) w.fail(new Error('smtp_sink: closed while waiting for a message'));
    return new Promise((resolve) => server.close(() => resolve()));
  }

  return { port: server.address().port, messages, waitFor, close };
}
