-- One phase of `make bench` under wrk (bench/run.py writes the command line):
--
--   wrk ... -s bench/phase.lua http://host:port -- <mode> <arg>
--
--   mode "path"          <arg> = the path and query of a GET, sent as is by every request
--   mode "create_delete" <arg> = an API key: each connection POSTs a new domain, then DELETEs it
--   mode "verify"        <arg> = a file of "DomainID APIKey" lines; request n of the phase verifies
--                                line <skip> + n (threads interleave, so no id is asked twice until
--                                the list runs out; "wrapped" in the output says when it did, and
--                                "next_line" where a next run should start)
--
--   wrk ... -- <mode> <arg> <wrk threads> [<skip>]
--
-- done() prints one line "BENCH {json}" with throughput, latency percentiles (microseconds) and
-- how many answers were not a success: HTTP status >= 400, or a body without "Success":true (the
-- service answers business errors with HTTP 200 and the error envelope); then one line
-- "QUANTILES ..." with the latency at every half percentile, so that rounds can be merged.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

-- Per thread (each thread has a Lua state of its own).
local mode, arg, api_key
local ids = {}
next_index = 0   -- global: done() reads every thread's, so that a next run can start after them
local stride = 1
local created = {}   -- DomainIDs this thread created and has not deleted yet
local serial = 0
local json_headers = { ["Content-Type"] = "application/json" }

bad = 0
creates = 0
deletes = 0
wrapped = 0

function init(args)
   mode, arg = args[1], args[2]
   local nthreads = tonumber(args[3]) or 1
   if mode == "create_delete" then
      api_key = arg
   elseif mode == "verify" then
      for line in io.lines(arg) do
         local id, key = line:match("^(%d+) (%S+)$")
         if id then table.insert(ids, { id, key }) end
      end
      -- Thread t takes lines skip + t, skip + t + nthreads, ...: no two threads share a line, and
      -- a run measured again starts after the lines the one before it used (<skip>, args[4]).
      stride = nthreads
      next_index = (tonumber(args[4]) or 0) + tid - 1
   end
end

function request()
   if mode == "path" then
      return wrk.format("GET", arg)
   elseif mode == "create_delete" then
      local id = table.remove(created)
      if id then
         return wrk.format("DELETE", "/api/v1/user.senderdomain?DomainID=" .. id .. "&APIKey=" .. api_key)
      end
      serial = serial + 1
      local body = '{"SenderDomain":"cd' .. tid .. '-' .. serial .. '.create.bench.example","APIKey":"'
                   .. api_key .. '"}'
      return wrk.format("POST", "/api/v1/user.senderdomain", json_headers, body)
   else
      if next_index >= #ids then
         next_index = next_index % #ids
         wrapped = wrapped + 1
      end
      local pair = ids[next_index + 1]
      next_index = next_index + stride
      local body = '{"DomainID":' .. pair[1] .. ',"APIKey":"' .. pair[2] .. '"}'
      return wrk.format("POST", "/api/v1/user.senderdomain.verify", json_headers, body)
   end
end

function response(status, headers, body)
   if status >= 400 or not string.find(body, '"Success":true', 1, true) then
      bad = bad + 1
      return
   end
   if mode == "create_delete" then
      local id = string.match(body, '^{"Success":true,"DomainID":(%d+)')
      if id then
         creates = creates + 1
         table.insert(created, id)
      else
         deletes = deletes + 1
      end
   end
end

function done(summary, latency, requests)
   local totals = { bad = 0, creates = 0, deletes = 0, wrapped = 0 }
   local next_line = 0
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + (thread:get(name) or 0)
      end
      next_line = math.max(next_line, thread:get("next_index") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"socket_errors":%d,"http_errors":%d,"timeouts":%d,"not_success":%d,'
      .. '"creates":%d,"deletes":%d,"wrapped":%d,"next_line":%d}\n',
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write, errors.status, errors.timeout, totals.bad,
      totals.creates, totals.deletes, totals.wrapped, next_line))
   -- The latency at every half percentile (0.5 ... 100), so that rounds can be merged.
   local points = {}
   if summary.requests > 0 then
      for i = 1, 200 do points[i] = latency:percentile(i / 2) end
   end
   io.write("QUANTILES " .. table.concat(points, ",") .. "\n")
end
