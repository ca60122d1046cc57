-- wrk script: POST /api/42/envelope/ with a ~1.8 KB Sentry envelope (one event item) and X-Sentry-Auth.
-- Counts 200 responses exactly; everything else is "other".
local key = os.getenv("SENTRY_KEY") or "0123456789abcdef0123456789abcdef"
local pad = string.rep("x", 1500)
local item = '{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","level":"error","platform":"javascript",'
  .. '"exception":{"values":[{"type":"Error","value":"bench ' .. pad .. '"}]},"sdk":{"name":"bench","version":"1"}}'
wrk.method = "POST"
wrk.body = '{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-11-23T12:00:00Z"}\n'
  .. '{"type":"event","length":' .. #item .. '}\n' .. item .. '\n'
wrk.headers["Content-Type"] = "application/x-sentry-envelope"
wrk.headers["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_client=bench/1.0, sentry_key=" .. key

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
    'WRK_JSON {"requests":%d,"duration_us":%d,"ok":%d,"not_ok":%d,"body_bytes":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, ok_total, other_total, #wrk.body, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
