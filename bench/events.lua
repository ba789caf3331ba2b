-- wrk script for bench/events.sh: posts unique conversion events (each a
-- new referee through one participant's code) to POST /api/v1/events.
-- Reads GOODWORD_KEY and GOODWORD_CODE from the environment.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local prefix, key, code
local counter = 0

function init(args)
  key = os.getenv("GOODWORD_KEY")
  code = os.getenv("GOODWORD_CODE")
  if key == nil or code == nil then
    error("set GOODWORD_KEY and GOODWORD_CODE")
  end
  math.randomseed(os.time() + tid)
  prefix = "t" .. tid .. "-" .. math.random(1, 1000000000)
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local body = string.format(
    '{"id":"%s","type":"lead","program":"bench","code":"%s","referee":{"external_id":"%s"}}',
    id, code, id)
  return wrk.format("POST", "/api/v1/events", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }, body)
end
