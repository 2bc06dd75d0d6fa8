-- wrk script: decide-and-claim, each request a new proposal (ids unique per run and thread) on
-- one of 64 assets C0..C63 (bench/guards-http.sh puts a policy that allows them with cooldown
-- and anti-flip off), sides alternating per asset: every decision is allowed, a claim, a
-- durable commit. Any answer but 200 shows as "Non-2xx or 3xx responses".
-- Run: wrk -t1 -c64 -d10s --latency -s bench/post_decide.lua \
--        http://127.0.0.1:8077/api/vault/guards/bench/decide
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0
local prefix = ""
local token = os.getenv("VVAULT_SERVICE_TOKEN") or "bench-token"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function init(args)
  prefix = string.format("w%d-%d-", os.time(), thread_id or 0)
end

request = function()
  counter = counter + 1
  local side = (math.floor(counter / 64) % 2 == 0) and "buy" or "sell"
  local body = string.format(
    '{"proposal_id":"%s%d","instrument":"C%d/USD","side":"%s","notional":"10","confidence":0.9}',
    prefix, counter, counter % 64, side)
  return wrk.format(nil, nil, nil, body)
end
