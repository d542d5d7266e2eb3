"""Stage 1 — sample: import captured traffic into a canonical sample, scrub, key, select, inspect."""
