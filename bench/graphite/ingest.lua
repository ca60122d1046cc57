-- wrk script: POST /ingest with a prebuilt gzip body of BATCH_LINES Graphite lines, as polymur-proxy
-- sends it (X-Polymur-Key, gzip, no Content-Encoding). Counts 200 responses exactly.
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["X-Polymur-Key"] = os.getenv("POLYMUR_KEY") or "123"
local lines = tonumber(os.getenv("BATCH_LINES") or "5000")

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
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"ok":%d,"not_ok":%d,"lines_per_request":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, ok_total, other_total, lines,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
