-- wrk script for bench/redirect.sh: opens /r/{code} for random codes from
-- a file (one code per line) with a phone browser's User-Agent, so every
-- open is a counted click, and reports answers other than 302 in done().
--
-- Usage: wrk ... -s bench/redirect.lua http://127.0.0.1:PORT -- CODES_FILE
--    or: CODES_FILE=codes.txt wrk ... -s bench/redirect.lua http://...

local USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
  .. "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local requests = {}
local other = 0
local statuses = {}

function init(args)
  local path = args[1] or os.getenv("CODES_FILE")
  if path == nil or path == "" then
    error("give the codes file as `-- FILE` or in CODES_FILE")
  end
  local headers = {
    ["User-Agent"] = USER_AGENT,
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ["Accept-Language"] = "en-GB,en;q=0.9",
  }
  -- Formatted once: request() only picks one, so wrk spends its time on I/O.
  for code in io.lines(path) do
    if code ~= "" then
      table.insert(requests, wrk.format("GET", "/r/" .. code, headers))
    end
  end
  if #requests == 0 then
    error("no codes in " .. path)
  end
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  return requests[math.random(#requests)]
end

function response(status, headers, body)
  if status ~= 302 then
    other = other + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total = total + (thread:get("other") or 0)
    local s = thread:get("statuses")
    if s then
      for status, n in pairs(s) do
        by_status[status] = (by_status[status] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do
    table.insert(parts, status .. "=" .. n)
  end
  io.write(string.format("Non-302 responses: %d %s\n", total, table.concat(parts, " ")))
  io.write(string.format("Completed requests: %d\n", summary.requests))
end
