"""Stage 1 — sample: import captured traffic as a canonical sample; scrub, key, select, inspect."""
