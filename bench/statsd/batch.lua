-- wrk script: POST /batch with BATCH_LINES newline-separated StatsD lines (text/plain) per request.
-- Counts 200 responses exactly (accepted = 200 responses x lines per request).
local lines = tonumber(os.getenv("BATCH_LINES") or "500")
local key = os.getenv("BATCH_KEY") or "bench.batch"
local t = {}
for i = 1, lines do t[i] = key .. ":1|c" end
wrk.method = "POST"
wrk.body = table.concat(t, "\n") .. "\n"
wrk.headers["Content-Type"] = "text/plain"

COUNT_STATUS_200 = true
WRK_EXTRA = { lines_per_request = lines }
dofile("bench/wrk-report.lua")
