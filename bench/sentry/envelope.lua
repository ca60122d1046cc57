-- wrk script: POST /api/42/envelope/ with a ~1.8 KB Sentry envelope (one event item) and X-Sentry-Auth.
-- Counts 200 responses exactly ("ok"); everything else is "not_ok".
local key = os.getenv("SENTRY_KEY") or "0123456789abcdef0123456789abcdef"
local pad = string.rep("x", 1500)
local item = '{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","level":"error","platform":"javascript",'
  .. '"exception":{"values":[{"type":"Error","value":"bench ' .. pad .. '"}]},"sdk":{"name":"bench","version":"1"}}'
wrk.method = "POST"
wrk.body = '{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-11-23T12:00:00Z"}\n'
  .. '{"type":"event","length":' .. #item .. '}\n' .. item .. '\n'
wrk.headers["Content-Type"] = "application/x-sentry-envelope"
wrk.headers["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_client=bench/1.0, sentry_key=" .. key

COUNT_STATUS_200 = true
WRK_EXTRA = { body_bytes = #wrk.body }
dofile("bench/wrk-report.lua")
