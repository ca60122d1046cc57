-- Shared by the wrk scripts under bench/: prints one machine-readable summary line, WRK_JSON {...}, that the
-- run.sh scripts read. Load it at the end of a script with dofile("bench/wrk-report.lua") (the run.sh scripts
-- start wrk from the repository root). Before loading it, a script may set:
--   COUNT_STATUS_200 = true   count 200 responses exactly ("ok") and everything else ("not_ok"). wrk itself
--                             only counts statuses >= 400, and a Lua response() callback costs wrk time on
--                             every response, so scripts that do not need the count leave it off.
--   WRK_EXTRA = { name = n }  integer fields of the script's own (body size, lines per request).
local threads = {}

if COUNT_STATUS_200 then
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
end

function done(summary, latency, requests)
  local e = summary.errors
  local fields = {
    string.format('"requests":%d,"duration_us":%d', summary.requests, summary.duration),
    string.format('"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d',
      e.status, e.connect, e.read, e.write, e.timeout),
    string.format('"p50_us":%d,"p99_us":%d', latency:percentile(50), latency:percentile(99)),
  }
  if COUNT_STATUS_200 then
    local ok_total, other_total = 0, 0
    for _, thread in ipairs(threads) do
      ok_total = ok_total + thread:get("ok")
      other_total = other_total + thread:get("other")
    end
    table.insert(fields, string.format('"ok":%d,"not_ok":%d', ok_total, other_total))
  end
  for name, value in pairs(WRK_EXTRA or {}) do
    table.insert(fields, string.format('"%s":%d', name, value))
  end
  io.write("WRK_JSON {" .. table.concat(fields, ",") .. "}\n")
end
