-- wrk script for bench/otlp.py: POST one OTLP protobuf export to /v1/traces, then drain.
--
-- Arguments (after `--`): <body file> <api key> <sessions> <load seconds>
--
-- The body holds two markers of fixed length, replaced in every request: the trace id
-- (TRACEIDMARKER000, 16 bytes, in every span) by a new one, so that every span is a new request
-- (request ids are uuid5 of trace and span ids), and the session id (SESSIONMARKER00000) rotating
-- over <sessions> ids. Same lengths, so the protobuf stays valid.
--
-- The clean stop, the exact counts and the WRK_RESULT line are those of ingest.lua (see its header).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local timespec = ffi.new("bench_timespec")

local function now()
   ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
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
   load_seconds = tonumber(args[4])
   counter = 0
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
   local trace_id = string.format("%04x%012x", 1 + index, counter)
   local session = string.format("bench-%012d", counter % sessions)
   local export = body:gsub("TRACEIDMARKER000", trace_id):gsub("SESSIONMARKER00000", session)
   return wrk.format("POST", "/v1/traces", {
      ["Content-Type"] = "application/x-protobuf",
      ["Authorization"] = "Bearer " .. key,
   }, export)
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
   totals.sent = totals.sent - 1 -- wrk's check call of request() in the first thread is never sent
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
