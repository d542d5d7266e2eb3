"""Stage 3 — observe: per-tier hits and misses and backend load, from headers and servers."""
