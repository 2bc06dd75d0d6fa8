-- wrk script: config puts, each request a new version of one of 64 strategies of service
-- "bench" (no expected_version: no conflicts). The bearer is VVAULT_SERVICE_TOKEN.
-- Run: wrk -t2 -c16 -d10s -s bench/post_config.lua http://127.0.0.1:8077/api/vault/configs/bench
local counter = 0
local token = os.getenv("VVAULT_SERVICE_TOKEN") or "bench-token"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  counter = counter + 1
  local body = string.format('{"strategy_id":"s%d","params":{"n":%d}}', counter % 64, counter)
  return wrk.format(nil, nil, nil, body)
end
