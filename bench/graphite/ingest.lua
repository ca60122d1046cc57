-- wrk script: POST /ingest with a prebuilt gzip body of BATCH_LINES Graphite lines, as polymur-proxy
-- sends it (X-Polymur-Key, gzip, no Content-Encoding). Counts 200 responses exactly.
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["X-Polymur-Key"] = os.getenv("POLYMUR_KEY") or "123"
local lines = tonumber(os.getenv("BATCH_LINES") or "5000")

COUNT_STATUS_200 = true
WRK_EXTRA = { lines_per_request = lines }
dofile("bench/wrk-report.lua")
