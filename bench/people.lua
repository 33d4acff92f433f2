-- people.lua: wrk script for stafetd's people search (bench/README.md).
--
--   wrk -t2 -c16 -d10s -s bench/people.lua URL -- PATHS_FILE
--
-- PATHS_FILE holds one request path a line (e.g. /api/v1/people?q=s%C3%B8ren);
-- every connection goes through them in turn, each thread from its own
-- offset. At the end one machine-readable line is printed:
--   WRK requests=N duration_us=D p50_us=A p90_us=B p99_us=C max_us=M errors=E
--       err_connect=.. err_read=.. err_write=.. err_status=.. err_timeout=..
--   (errors is their sum; err_status counts answers other than 2xx and 3xx)

local threads_started = 0

function setup(thread)
   thread:set("offset", threads_started * 7)
   threads_started = threads_started + 1
end

local paths = {}
local n = 0

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   n = offset or 0
end

function request()
   n = n + 1
   return wrk.format("GET", paths[(n % #paths) + 1])
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
