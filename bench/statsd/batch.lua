-- wrk script: POST /batch with BATCH_LINES newline-separated StatsD lines (text/plain) per request.
-- Counts 200 responses exactly (accepted = 200 responses x lines per request).
local lines = tonumber(os.getenv("BATCH_LINES") or "500")
local key = os.getenv("BATCH_KEY") or "bench.batch"
local t = {}
for i = 1, lines do t[i] = key .. ":1|c" end
wrk.method = "POST"
wrk.body = table.concat(t, "\n") .. "\n"
wrk.headers["Content-Type"] = "text/plain"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    other_total = other_total + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"ok":%d,"not_ok":%d,"lines_per_request":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, ok_total, other_total, lines, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
