-- handovers.lua: wrk script for stafetd's handover calls (bench/README.md).
--
--   wrk -t2 -c32 -d10s -s bench/handovers.lua URL -- PATHS_FILE METHOD TOKEN THREADS [once]
--
-- PATHS_FILE holds one request path a line. Each request is METHOD PATH
-- with Authorization: Bearer TOKEN (a session from POST /api/v1/session)
-- and no body (submit takes none; the lists are GETs).
--
-- Without `once` every connection goes through the paths in turn, each
-- thread from its own offset (the lists). With `once` (submit: a draft can
-- be submitted only once) the paths are shared out: thread k of THREADS
-- takes paths k, k + THREADS, k + 2 × THREADS, ..., so no path is sent
-- twice, unless the file runs out: then the thread starts again from its
-- first path, and those answers (409) count as errors. The driver makes
-- enough drafts that this does not happen.
--
-- At the end one machine-readable line is printed, the same as people.lua's:
--   WRK requests=N duration_us=D p50_us=A p90_us=B p99_us=C max_us=M errors=E
--       err_connect=.. err_read=.. err_write=.. err_status=.. err_timeout=..
--   (errors is their sum; err_status counts answers other than 2xx and 3xx)

local threads_started = 0

function setup(thread)
   thread:set("index", threads_started)
   threads_started = threads_started + 1
end

local paths = {}
local method = "GET"
local headers = {}
local step = 1
local n = 0

function init(args)
   method = args[2]
   local nthreads = tonumber(args[4])
   local once = args[5] == "once"
   local k = 0
   local mine = index or 0
   for line in io.lines(args[1]) do
      if line ~= "" then
         if not once or k % nthreads == mine then
            paths[#paths + 1] = line
         end
         k = k + 1
      end
   end
   headers["Authorization"] = "Bearer " .. args[3]
   if method == "POST" then
      headers["Content-Length"] = "0"
   end
   if once then
      n = 0
   else
      n = mine * 7
   end
end

function request()
   n = n + 1
   return wrk.format(method, paths[((n - 1) % #paths) + 1], headers)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, e.connect + e.read + e.write + e.status + e.timeout,
      e.connect, e.read, e.write, e.status, e.timeout))
end
