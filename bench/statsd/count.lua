-- wrk script: POST /count/<key> with the form body statsd-http-proxy clients send.
-- The URL given to wrk carries the path, e.g. http://127.0.0.1:8825/count/bench.metric
wrk.method = "POST"
wrk.body = "value=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- wrk counts responses with status >= 400 in errors.status, which is all run.sh needs here.
dofile("bench/wrk-report.lua")
