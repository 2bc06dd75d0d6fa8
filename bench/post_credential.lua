-- wrk script: durable credential puts, each request a new version of one of 64 keys.
-- Run: wrk -t2 -c16 -d10s -s bench/post_credential.lua http://127.0.0.1:8077/api/vault/credentials
-- The bearer is VVAULT_BENCH_TOKEN (bench/http.sh sets it to a scoped token with SCOPED=1), else
-- VVAULT_SERVICE_TOKEN; the service written is VVAULT_BENCH_SERVICE (default "bench").
local counter = 0
local token = os.getenv("VVAULT_BENCH_TOKEN") or os.getenv("VVAULT_SERVICE_TOKEN") or "bench-token"
local svc = os.getenv("VVAULT_BENCH_SERVICE") or "bench"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  counter = counter + 1
  local body = string.format('{"key":"BENCH_%d","service":"%s","value":"value-%d"}', counter % 64, svc, counter)
  return wrk.format(nil, nil, nil, body)
end
