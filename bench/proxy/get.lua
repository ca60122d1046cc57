-- wrk script: plain GET of the URL given to wrk; failures are counted by wrk (status >= 400, socket errors).
dofile("bench/wrk-report.lua")
