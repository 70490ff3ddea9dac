-- wrk script of bench/api_bench.py: cycles through the request paths in the file named
-- by the first argument (one a line; each thread starts at its own place), and prints
-- wrk's latency percentiles and error counts as one JSON line at the end.
--   wrk -c 50 -t 1 -d 15s --timeout 30s -s bench/api_wrk.lua http://127.0.0.1:PORT -- paths.txt
local paths = {}
local i = 0
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

function init(args)
   for line in io.lines(args[1]) do
      paths[#paths + 1] = line
   end
   i = (id or 0) * 7919 % #paths
end

function request()
   i = i % #paths + 1
   return wrk.format("GET", paths[i])
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
