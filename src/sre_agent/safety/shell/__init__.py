"""Shell text for the risk engine: `parse` (bashlex, `tokenizer` fallback) into a `tree`,
`expand` words into argv, `literal` output of small pipelines; `markers` stand for what only
run time knows, `scan` finds brackets and substitutions in raw text."""
