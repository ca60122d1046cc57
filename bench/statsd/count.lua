-- wrk script: POST /count/<key> with the form body statsd-http-proxy clients send.
-- The URL given to wrk carries the path, e.g. http://127.0.0.1:8825/count/bench.metric
wrk.method = "POST"
wrk.body = "value=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- One machine-readable line for run.sh. wrk counts responses with status >= 400 in errors.status.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
