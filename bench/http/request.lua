-- wrk script for bench/http: one request shape from the environment, a random id per request when
-- BENCH_IDS names a file of ids ("{id}" in BENCH_PATH or BENCH_BODY is replaced), and one result line.
--   BENCH_METHOD, BENCH_PATH, BENCH_BODY (optional, JSON), BENCH_HOST, BENCH_TOKEN, BENCH_IDS (optional)
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

local counter = 0
init = function(args)
  math.randomseed(os.time() + counter)
end

request = function()
  if #ids == 0 then
    return wrk.format(method, path, nil, body)
  end
  local id = ids[math.random(#ids)]
  local b = body and body:gsub("{id}", id) or nil
  return wrk.format(method, path:gsub("{id}", id), nil, b)
end

-- RESULT requests/s p50_ms p99_ms non_2xx socket_errors
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
