"""The rules, one module per concept; importing this package registers every one of them with
`sre_agent.safety.registry` (the engine finds them there and never imports them).

`readonly` (readers, printers), `files` (delete, write, copy, attributes, editors), `archive`,
`find` (find, xargs), `proc` (processes, services, shell builtins), `wrappers` (sudo, env, ...),
`host` (firewall, kernel, disks, packages, users, git, containers), `interpreters` (shells and
inline code), `net` (downloads, uploads, sockets, ssh), `stores` (data stores: SQL shells,
redis-cli), `sqlite` (the sqlite3 shell), `infra` (clusters, clouds), `unknown` (the fallback).
"""

from sre_agent.safety.rules import (
    archive,
    files,
    find,
    host,
    infra,
    interpreters,
    net,
    proc,
    readonly,
    sqlite,
    stores,
    unknown,
    wrappers,
)

MODULES = (readonly, files, archive, find, proc, wrappers, host, interpreters, net, stores,
           sqlite, infra, unknown)
"""Every rule module, loaded."""

__all__ = ["MODULES"]
