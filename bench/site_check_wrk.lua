-- wrk script of bench/site_check_bench.py: cycles through the requests in the file named
-- by the first argument, one a line as METHOD<TAB>PATH<TAB>BODY (BODY empty for a GET;
-- a POST's is JSON), each thread starting at its own place; prints wrk's latency
-- percentiles and error counts as one JSON line at the end (as bench/api_wrk.lua does).
--   wrk -c 50 -t 1 -d 15s --timeout 30s -s bench/site_check_wrk.lua http://127.0.0.1:PORT -- requests.txt
local reqs = {}
local i = 0
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

function init(args)
   -- SITE_BENCH_TOKEN, when set, signs every request in (a viewer's API token)
   local token = os.getenv("SITE_BENCH_TOKEN") or ""
   for line in io.lines(args[1]) do
      local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body == "" then
         reqs[#reqs + 1] = wrk.format(method, path, headers)
      else
         headers["Content-Type"] = "application/json"
         reqs[#reqs + 1] = wrk.format(method, path, headers, body)
      end
   end
   i = (id or 0) * 7919 % #reqs
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, ' ..
      '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect_errors": %d, ' ..
      '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, summary.bytes, latency:percentile(50),
      latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
