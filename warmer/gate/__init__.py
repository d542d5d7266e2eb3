"""Stage 4 — gate: warm, verify on held-out traffic, evaluate checks, decide."""
