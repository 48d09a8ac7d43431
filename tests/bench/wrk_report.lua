-- Prints wrk's summary as key=value lines that tests/bench/server.py reads (wrk itself has no p95).
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write("BENCH requests=", summary.requests, "\n")
  io.write("BENCH duration_us=", summary.duration, "\n")
  io.write("BENCH bytes=", summary.bytes, "\n")
  io.write("BENCH errors_connect=", errors.connect, "\n")
  io.write("BENCH errors_read=", errors.read, "\n")
  io.write("BENCH errors_write=", errors.write, "\n")
  io.write("BENCH errors_timeout=", errors.timeout, "\n")
  io.write("BENCH errors_status=", errors.status, "\n")
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write("BENCH p", p, "_us=", latency:percentile(p), "\n")
  end
  io.write("BENCH max_us=", latency.max, "\n")
end
