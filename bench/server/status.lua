-- wrk script: live queue status reads, GET /api/v1/queues/{id}/status.
-- Each read goes through the tenant's mailbox (it answers after every earlier write is durable), so this measures
-- the read path of the single-writer host, not a cache.
--
-- Environment: LINEUP_TOKEN (bearer token), LINEUP_QUEUE (queue id).

local token = os.getenv("LINEUP_TOKEN") or error("LINEUP_TOKEN is not set")
local queue = os.getenv("LINEUP_QUEUE") or error("LINEUP_QUEUE is not set")

wrk.method = "GET"
wrk.path = "/api/v1/queues/" .. queue .. "/status"
wrk.headers["Authorization"] = "Bearer " .. token

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local errs = summary.errors
  io.write(string.format(
    "STATUS requests=%d rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d timeouts=%d\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, errs.status, errs.connect + errs.read + errs.write, errs.timeout))
end
