-- bench/payment.lua — wrk script: create-and-confirm one sandbox card payment
-- per request (POST /v1/payment_intents ... confirm=true, pm_card_visa).
--
-- usage: wrk -t2 -c64 -d10s --latency -s bench/payment.lua \
--            http://127.0.0.1:PORT/v1/payment_intents -- sk_test_KEY [RUN_TAG]
--
-- With PAYD_BENCH_IDEM=1 in the environment every request carries a fresh
-- Idempotency-Key (as Stripe's client libraries send), built in Lua each time.
--
-- Every answer is checked: an answer that is not 200, or a 200 whose body does
-- not say "status":"succeeded", is an error.  Errors are counted per thread,
-- the first few are kept, and done() prints them, so a run with errors is
-- visible.  done() ends with one machine-readable line for bench/run:
--   BENCH requests=N ok=N errors=N socket_errors=N duration_s=S payments_per_s=X
--         p50_ms=A p90_ms=B p99_ms=C max_ms=D

local body = "amount=2000&currency=cny&confirm=true&payment_method=pm_card_visa"

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- ---- main thread: keep the threads to read their counters in done() -------

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

-- ---- worker threads -------------------------------------------------------

local KEEP_SAMPLES = 3     -- error answers kept per thread to print
ok = 0
errors = 0
by_status = {}             -- status code (as a string) -> count
samples = {}               -- the first few error answers, as strings

-- A fresh Idempotency-Key per request (as Stripe's client libraries send)
-- when PAYD_BENCH_IDEM=1.  wrk decides at load time whether the script has a
-- request() of its own (then it formats every request in Lua), so decide here.
local idem_headers = nil
local thread_tag = ""
local counter = 0

function init(args)
   local key = args[1] or os.getenv("PAYD_KEY")
   if not key or key == "" then
      error("payment.lua: pass the API key after --, or set PAYD_KEY")
   end
   wrk.headers["Authorization"] = "Bearer " .. key
   -- unique across threads (thread_id, set by setup) and runs (time, args[2])
   thread_tag = string.format("%s-%d-%d", args[2] or "run", os.time(), thread_id or 0)
   idem_headers = {}
   for k, v in pairs(wrk.headers) do idem_headers[k] = v end
end

if os.getenv("PAYD_BENCH_IDEM") == "1" then
   function request()
      counter = counter + 1
      idem_headers["Idempotency-Key"] = "bench-" .. thread_tag .. "-" .. counter
      return wrk.format(nil, nil, idem_headers)
   end
end

function response(status, headers, resp_body)
   if status == 200 and string.find(resp_body, '"status":"succeeded"', 1, true) then
      ok = ok + 1
      return
   end
   errors = errors + 1
   local s = tostring(status)
   by_status[s] = (by_status[s] or 0) + 1
   if #samples < KEEP_SAMPLES then
      table.insert(samples, s .. " " .. string.sub(resp_body or "", 1, 300))
   end
end

-- ---- main thread again ----------------------------------------------------

function done(summary, latency, requests)
   local total_ok, total_err, statuses, shown = 0, 0, {}, {}
   for _, t in ipairs(threads) do
      total_ok = total_ok + (t:get("ok") or 0)
      total_err = total_err + (t:get("errors") or 0)
      local bs = t:get("by_status") or {}
      for k, v in pairs(bs) do statuses[k] = (statuses[k] or 0) + v end
      local sm = t:get("samples") or {}
      for _, v in ipairs(sm) do
         if #shown < 5 then table.insert(shown, v) end
      end
   end
   local e = summary.errors
   local sock = e.connect + e.read + e.write + e.timeout
   local secs = summary.duration / 1e6

   if total_err > 0 or sock > 0 then
      io.write(string.format("ERRORS: %d bad answers", total_err))
      for k, v in pairs(statuses) do io.write(string.format(", status %s: %d", k, v)) end
      io.write(string.format("; socket errors: connect %d, read %d, write %d, timeout %d\n",
         e.connect, e.read, e.write, e.timeout))
      for _, v in ipairs(shown) do io.write("  e.g. " .. v:gsub("\n", " ") .. "\n") end
   end
   io.write(string.format(
      "BENCH requests=%d ok=%d errors=%d socket_errors=%d duration_s=%.3f " ..
      "payments_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      summary.requests, total_ok, total_err, sock, secs, total_ok / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000))
end
