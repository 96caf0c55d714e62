-- wrk script (run it with -t1 -c1): how soon a call-control write shows in the queue's statistics.
-- One call at a time on its own queue: create, answer, hang up; the moment the hang-up is answered, read
-- GET /api/v1/queues/{id}/stats until "answered" has gone up by one, and record the time from the hang-up's answer
-- to the first read that shows it. Run it beside the call-cycle load to measure under load. A pause of
-- LINEUP_PROBE_PAUSE_MS (default 20) before each new call keeps the probe's own load small.
--
-- Environment: LINEUP_TOKEN, LINEUP_QUEUE (the probe's own queue, one logged-in agent, wrap-up 0, auto-ready).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } lineup_timespec;
  int clock_gettime(int clk_id, lineup_timespec *tp);
]]
local ts = ffi.new("lineup_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local token = os.getenv("LINEUP_TOKEN") or error("LINEUP_TOKEN is not set")
local queue = os.getenv("LINEUP_QUEUE") or error("LINEUP_QUEUE is not set")
local pause = tonumber(os.getenv("LINEUP_PROBE_PAUSE_MS") or "20")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

local state = "baseline" -- baseline | create | answer | hangup | poll
local call, agent = nil, nil
local expected = 0
local hung_at = 0
local polls = 0
lags_us = {}
first_read, late_reads, failures = 0, 0, 0

local threads = {}
function setup(thread) table.insert(threads, thread) end

function delay()
  if state == "create" then return pause end
  return 0
end

function request()
  if state == "baseline" or state == "poll" then
    return wrk.format("GET", "/api/v1/queues/" .. queue .. "/stats", headers)
  elseif state == "create" then
    return wrk.format("POST", "/api/v1/calls", headers, '{"queue_id":' .. queue .. ',"caller_number":"+15550199"}')
  elseif state == "answer" then
    return wrk.format("POST", "/api/v1/calls/" .. call .. "/events", headers, '{"type":"agent_answered","agent_id":' .. agent .. '}')
  else
    return wrk.format("POST", "/api/v1/calls/" .. call .. "/events", headers, '{"type":"caller_hangup"}')
  end
end

function response(status, _, body)
  if status < 200 or status > 299 then
    failures = failures + 1
    state = "baseline"
    return
  end
  if state == "baseline" then
    expected = tonumber(string.match(body, '"answered":(%d+)')) + 1
    state = "create"
  elseif state == "create" then
    call = string.match(body, '"id":(%d+)')
    agent = string.match(body, '"offers":%[{"agent_id":(%d+)')
    state = agent and "answer" or "hangup"
    if not agent then expected = expected - 1 end
  elseif state == "answer" then
    state = "hangup"
  elseif state == "hangup" then
    hung_at = now_us()
    polls = 0
    state = "poll"
  else
    polls = polls + 1
    local answered = tonumber(string.match(body, '"answered":(%d+)'))
    if answered >= expected then
      lags_us[#lags_us + 1] = now_us() - hung_at
      if polls == 1 then first_read = first_read + 1 else late_reads = late_reads + 1 end
      expected = answered + 1
      state = "create"
    end
  end
end

function done(_, _, _)
  local all, first, late, fails = {}, 0, 0, 0
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("lags_us")) do all[#all + 1] = v end
    first = first + t:get("first_read")
    late = late + t:get("late_reads")
    fails = fails + t:get("failures")
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * p / 100))] / 1000
  end
  io.write(string.format("STATSPROBE samples=%d visible_on_first_read=%d needed_more_reads=%d lag_p50_ms=%.2f lag_p99_ms=%.2f lag_max_ms=%.2f non2xx=%d\n",
    #all, first, late, pct(50), pct(99), (#all > 0 and all[#all] / 1000 or 0), fails))
end
