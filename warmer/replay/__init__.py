"""Stage 2 — replay: send a sample to a target with chosen pacing and order, record every response."""
