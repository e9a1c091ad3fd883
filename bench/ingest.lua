-- wrk script for bench/ingest.py: POST one captured async-log body to /oai/v1/log, then drain.
--
-- Arguments (after `--`): <body file> <api key> <sessions> <tag> <load seconds>
--
-- Each request rotates Helicone-Session-Id over <sessions> ids and sets Helicone-Session-Path,
-- Helicone-Session-Name, Helicone-User-Id and one Helicone-Property-*.
--
-- Clean stop: wrk ends a run by dropping its connections, and a request in flight at that moment
-- may or may not be stored (the server drops it if the disconnect arrives before it read the body).
-- So after <load seconds> each connection, once answered, stops sending (request() returns an empty
-- request: nothing is written and the connection idles); wrk's -d must leave a few seconds for this.
-- Every request sent is then answered, and rows stored == 2xx answers exactly.
--
-- Each thread counts what it sent and got back (exact, not sampled) and when; done() prints one
-- line `WRK_RESULT {json}` with those counts, the load's wall time and wrk's latency percentiles.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   body = file:read("*a")
   file:close()
   key = args[2]
   sessions = tonumber(args[3])
   tag = args[4]
   load_seconds = tonumber(args[5])
   counter = index * 7919 -- threads start on different sessions
   sent, answered, ok, non2xx = 0, 0, 0, 0
   started, deadline, last_answer = 0, nil, 0
end

function request()
   local t = now()
   if deadline == nil then
      started, deadline = t, t + load_seconds
   elseif t >= deadline then
      return "" -- drain: send nothing more on this connection
   end
   counter = counter + 1
   sent = sent + 1
   local session = counter % sessions
   return wrk.format("POST", "/oai/v1/log", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
      ["Helicone-Session-Id"] = string.format("%s-session-%05d", tag, session),
      ["Helicone-Session-Path"] = "/agent/step-" .. (counter % 7),
      ["Helicone-Session-Name"] = "Bench session",
      ["Helicone-User-Id"] = "user-" .. (session % 97),
      ["Helicone-Property-Environment"] = "bench",
   }, body)
end

function response(status, headers, body)
   answered = answered + 1
   last_answer = now()
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local totals = { sent = 0, answered = 0, ok = 0, non2xx = 0 }
   local first_start, last_answer_all = math.huge, 0
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      first_start = math.min(first_start, thread:get("started"))
      last_answer_all = math.max(last_answer_all, thread:get("last_answer"))
   end
   -- wrk calls request() once in the first thread to check the script; that request is never sent.
   totals.sent = totals.sent - 1
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"load_seconds": %.6f, "requests": %d, "sent": %d, "answered": %d, "ok": %d, '
         .. '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
         .. '"timeouts": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
      last_answer_all - first_start, summary.requests, totals.sent, totals.answered, totals.ok,
      totals.non2xx, errors.connect, errors.read, errors.write, errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max
   ))
end
