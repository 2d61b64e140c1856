-- 200 clients: half the requests poll a job's status with an API key, half
-- verify a bearer token.
local token, key = os.getenv("TOKEN"), os.getenv("KEY")
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    return wrk.format("GET", "/jas/job/status?jobDefinitionName=ShowCaseAudit", {["authorization"] = key})
  end
  return wrk.format("GET", "/api/authentication/verify", {["Authorization"] = "Bearer " .. token})
end
delay = function() return tonumber(os.getenv("DELAY_MS") or "0") end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d in %.1f s (%.0f/s); errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), e.connect, e.read, e.write, e.status, e.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%g %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("max %.2f ms\n", latency.max / 1000))
end
