-- counterparts.lua: wrk script for stafetd's counterpart resolution,
-- POST /api/v1/counterparts (bench/README.md).
--
--   wrk -t2 -c16 -d10s -s bench/counterparts.lua URL -- BODIES_FILE TOKEN
--
-- BODIES_FILE holds one JSON request body a line; every connection goes
-- through them in turn, each thread from its own offset. Each request is
-- POST /api/v1/counterparts with Content-Type: application/json and
-- Authorization: Bearer TOKEN (a session from POST /api/v1/session). At the
-- end one machine-readable line is printed, the same as people.lua's:
--   WRK requests=N duration_us=D p50_us=A p90_us=B p99_us=C max_us=M errors=E
--       err_connect=.. err_read=.. err_write=.. err_status=.. err_timeout=..
--   (errors is their sum; err_status counts answers other than 2xx and 3xx)

local threads_started = 0

function setup(thread)
   thread:set("offset", threads_started * 7)
   threads_started = threads_started + 1
end

local bodies = {}
local headers = {}
local n = 0

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then
         bodies[#bodies + 1] = line
      end
   end
   headers["Content-Type"] = "application/json"
   headers["Authorization"] = "Bearer " .. args[2]
   n = offset or 0
end

function request()
   n = n + 1
   return wrk.format("POST", "/api/v1/counterparts", headers, bodies[(n % #bodies) + 1])
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
