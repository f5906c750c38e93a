-- wrk script: POST each prepared (signature, body) pair once, and count the answers.
-- Run by wrkload.py: wrk -s prepared.lua URL -- FILE THREADS, FILE holding lines of
-- "signature<TAB>body". Thread n sends lines n, n+THREADS, ...; past its share it
-- starts again (counted as `repeated`: a repeated MessageSid is a duplicate).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(args[2])
  signatures, bodies = {}, {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % count == id then
      local tab = line:find("\t", 1, true)
      table.insert(signatures, line:sub(1, tab - 1))
      table.insert(bodies, line:sub(tab + 1))
    end
    n = n + 1
  end
  nextone, sent, repeated, statuses = 1, 0, 0, {}
end

function request()
  if nextone > #bodies then
    nextone = 1
  end
  if sent >= #bodies then
    repeated = repeated + 1
  end
  local k = nextone
  nextone, sent = k + 1, sent + 1
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = signatures[k],
  }
  return wrk.format("POST", nil, headers, bodies[k])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent, repeated, merged = 0, 0, {}
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    repeated = repeated + thread:get("repeated")
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write(string.format(
    'RESULT {"sent": %d, "repeated": %d, "done": %d, "elapsed": %.6f, "errors": %d,'
      .. ' "p50_us": %d, "p99_us": %d, "statuses": {%s}}\n',
    sent, repeated, summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
