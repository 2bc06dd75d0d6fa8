-- wrk script: durable credential puts, each request a new version of one of 64 keys.
-- Run: wrk -t2 -c16 -d10s -s bench/post_credential.lua http://127.0.0.1:8077/api/vault/credentials
local counter = 0
local token = os.getenv("VVAULT_SERVICE_TOKEN") or "bench-token"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  counter = counter + 1
  local body = string.format('{"key":"BENCH_%d","service":"bench","value":"value-%d"}', counter % 64, counter)
  return wrk.format(nil, nil, nil, body)
end
