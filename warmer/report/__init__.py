"""Stage 5 — report: render a run as JSON, Markdown, HTML and JUnit XML."""
