"""Programs that run inside a sandbox (stdlib only; they never import sre_agent): the
supervisor and `svc`."""
