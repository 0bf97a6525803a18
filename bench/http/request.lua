-- wrk script for bench/http: one request shape from the environment, a random id per request when
-- BENCH_IDS names a file of ids ("{id}" in BENCH_PATH or BENCH_BODY is replaced), and one result line.
--   BENCH_METHOD, BENCH_PATH, BENCH_BODY (optional, JSON), BENCH_HOST, BENCH_TOKEN, BENCH_IDS (optional),
--   BENCH_GRAPHQL=1 (count answers carrying GraphQL errors as failed)
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end
local ids = {}
local ids_file = os.getenv("BENCH_IDS")
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do ids[#ids + 1] = line end
end

wrk.method = method
wrk.headers["Host"] = os.getenv("BENCH_HOST")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
if body then wrk.headers["Content-Type"] = "application/json" end

-- GraphQL answers errors with a 200 and an `errors` member: with BENCH_GRAPHQL=1 each body is
-- searched for it and counted (wrk's status count would miss them).
local graphql = os.getenv("BENCH_GRAPHQL") == "1"
local threads = {}
local next_id = 0
setup = function(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

graphql_errors = 0
init = function(args)
  math.randomseed(os.time() * 100 + (id or 0))
end

if graphql then
  response = function(status, headers, body)
    if body and body:find('"errors"', 1, true) then
      graphql_errors = graphql_errors + 1
    end
  end
end

request = function()
  if #ids == 0 then
    return wrk.format(method, path, nil, body)
  end
  local id = ids[math.random(#ids)]
  local b = body and body:gsub("{id}", id) or nil
  return wrk.format(method, path:gsub("{id}", id), nil, b)
end

-- RESULT requests/s p50_ms p99_ms failed_answers socket_errors (failed: non-2xx, or GraphQL errors)
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.status
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("graphql_errors") or 0)
  end
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    failed, e.connect + e.read + e.write + e.timeout))
end
