"""The `sre-agent` command line: the only layer that imports typer/rich, prints or exits."""
