-- wrk script: full call cycles through Lineup's call-control API.
--
--   POST /api/v1/calls                     (create; the answer names the offered agent)
--   POST /api/v1/calls/{id}/events          {"type":"agent_answered","agent_id":A}
--   POST /api/v1/calls/{id}/events          {"type":"caller_hangup"}
--
-- Every step is a durable write (the server answers after the group commit). The chain is driven by the response
-- bodies alone: wrk does not say which connection asks for the next request, so a response pushes the next step of
-- its call onto a per-thread FIFO and the next request() takes it (or starts a new call when the FIFO is empty).
-- Each response yields at most one next step, so the FIFO never holds more entries than there are connections.
-- The create request carries its start time (monotonic µs) as external_id; the server echoes it in every answer,
-- so the hang-up response gives the cycle's end-to-end latency without any per-connection bookkeeping.
--
-- Environment: LINEUP_TOKEN (bearer token), LINEUP_QUEUE (queue id). The queue must have wrap_up_time 0 and
-- agent_auto_ready true, and more logged-in agents than wrk has connections, so every new call is offered at once.
-- Optional LINEUP_RATE (writes per second over all threads) with LINEUP_THREADS (wrk's -t): new calls arrive at
-- rate/3 per second instead of as soon as a connection is free, so latency is measured at a chosen load rather than
-- at saturation. Each new call moves the thread's next start time threads*3/rate s on; a connection with nothing
-- pending waits for it (wrk's delay(), which runs before request()), while the answer and hang-up of a call already
-- started go out at once. Starts are counted when they happen, so the long-run rate holds even when two connections
-- wait for the same start time.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } lineup_timespec;
  int clock_gettime(int clk_id, lineup_timespec *tp);
]]
local ts = ffi.new("lineup_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local token = os.getenv("LINEUP_TOKEN") or error("LINEUP_TOKEN is not set")
local queue = os.getenv("LINEUP_QUEUE") or error("LINEUP_QUEUE is not set")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

-- Per-thread state (each wrk thread has its own Lua state); done() reads these through thread:get.
local fifo, head, tail = {}, 1, 0
creates, answers, hangups, unoffered, failures, unexpected = 0, 0, 0, 0, 0, 0
failed_statuses = {}
cycle_us = {}
first_failure = ""

local threads = {}

local rate = tonumber(os.getenv("LINEUP_RATE") or "0")
local interval_us = nil
local next_start = 0
if rate > 0 then
  interval_us = 1e6 * 3 * tonumber(os.getenv("LINEUP_THREADS") or "1") / rate
  function delay()
    if head <= tail then return 0 end
    local wait = next_start - now_us()
    if wait <= 0 then return 0 end
    return math.ceil(wait / 1000)
  end
end

function setup(thread)
  table.insert(threads, thread)
end

local function push(req)
  tail = tail + 1
  fifo[tail] = req
end

function request()
  if head <= tail then
    local req = fifo[head]
    fifo[head] = nil
    head = head + 1
    return req
  end
  local now = now_us()
  if interval_us then next_start = math.max(now, next_start) + interval_us end
  local body = string.format('{"queue_id":%s,"caller_number":"+15550100","external_id":"%d"}', queue, now)
  return wrk.format("POST", "/api/v1/calls", headers, body)
end

local function event(id, json)
  return wrk.format("POST", "/api/v1/calls/" .. id .. "/events", headers, json)
end

function response(status, _, body)
  if status < 200 or status > 299 then
    failures = failures + 1
    failed_statuses[status] = (failed_statuses[status] or 0) + 1
    if first_failure == "" then first_failure = tostring(status) .. " " .. string.sub(body or "", 1, 300) end
    return
  end
  local id = string.match(body, '"id":(%d+)')
  local state = string.match(body, '"state":"([%a_]+)"')
  if id == nil or state == nil then
    unexpected = unexpected + 1
    return
  end
  if state == "connected" then
    answers = answers + 1
    push(event(id, '{"type":"caller_hangup"}'))
  elseif state == "ended" then
    local started = tonumber(string.match(body, '"external_id":"(%d+)"'))
    local agent = string.match(body, '"agent_id":(%d+),"disposition"')
    if agent ~= nil then
      -- An answered call has ended: the full cycle is done.
      hangups = hangups + 1
      if started ~= nil then cycle_us[#cycle_us + 1] = now_us() - started end
    end
  else
    creates = creates + 1
    local agent = string.match(body, '"offers":%[{"agent_id":(%d+)')
    if agent ~= nil then
      push(event(id, '{"type":"agent_answered","agent_id":' .. agent .. '}'))
    else
      -- No free agent (more connections than agents): end the call so the run does not pile up waiting callers.
      unoffered = unoffered + 1
      push(event(id, '{"type":"caller_hangup"}'))
    end
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.max(1, math.ceil(#sorted * p / 100))
  return sorted[i]
end

function done(summary, latency, _)
  local c, a, h, u, f, x = 0, 0, 0, 0, 0, 0
  local all = {}
  local statuses = {}
  local sample = ""
  for _, t in ipairs(threads) do
    c = c + t:get("creates")
    a = a + t:get("answers")
    h = h + t:get("hangups")
    u = u + t:get("unoffered")
    f = f + t:get("failures")
    x = x + t:get("unexpected")
    for _, v in ipairs(t:get("cycle_us")) do all[#all + 1] = v end
    for s, n in pairs(t:get("failed_statuses")) do statuses[s] = (statuses[s] or 0) + n end
    if sample == "" then sample = t:get("first_failure") end
  end
  table.sort(all)
  local seconds = summary.duration / 1e6
  local writes = c + a + h
  local errs = summary.errors
  io.write(string.format(
    "CALLCYCLE requests=%d rps=%.1f writes_ok=%d writes_per_s=%.1f cycles=%d cycles_per_s=%.1f " ..
    "req_p50_ms=%.2f req_p90_ms=%.2f req_p99_ms=%.2f req_max_ms=%.2f cycle_p50_ms=%.2f cycle_p99_ms=%.2f " ..
    "non2xx=%d socket_errors=%d timeouts=%d unoffered=%d unexpected=%d\n",
    summary.requests, summary.requests / seconds, writes, writes / seconds, h, h / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    percentile(all, 50) / 1000, percentile(all, 99) / 1000,
    errs.status, errs.connect + errs.read + errs.write, errs.timeout, u, x))
  for s, n in pairs(statuses) do io.write(string.format("CALLCYCLE_FAILED status=%d count=%d\n", s, n)) end
  if sample ~= "" then io.write("CALLCYCLE_FIRST_FAILURE " .. sample .. "\n") end
end
