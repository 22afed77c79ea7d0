"""Rules for archives and compressors: extraction writes into a directory (`<dir>/<found>`),
creation reads its operands and writes the archive, `gzip x` replaces `x` in place.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule
from sre_agent.safety.shell.markers import FOUND


@rule("tar")
def rule_tar(call: Call) -> None:
    args = list(call.args)
    if args and not args[0].startswith("-") and re.fullmatch(r"[A-Za-z]+", args[0]):
        args[0] = "-" + args[0]
    opts, operands = parse_opts(args, {"-f", "--file", "-C", "--directory", "-T",
                                       "--files-from", "-X", "--exclude-from", "-b"})
    archive = (opts.get("-f") or opts.get("--file") or [None])[0]
    if opts.keys() & {"-x", "--extract", "--get"}:
        if archive:
            call.read(archive)
        where = (opts.get("-C") or opts.get("--directory") or ["."])[0]
        call.write(where + "/" + FOUND, truncate=False, verb="extracts into")
        if "-P" in opts or "--absolute-names" in opts:
            call.add(Risk.HIGH, "extracts absolute paths anywhere on the host")
    elif opts.keys() & {"-c", "--create", "-r", "--append", "-u"}:
        for operand in operands:
            call.read(operand)
        if archive and archive != "-":
            call.write(archive)
        if "--remove-files" in opts:
            for operand in operands:
                call.delete(operand, recursive=True)
    else:
        if archive:
            call.read(archive)
        call.low("lists an archive")


@rule("unzip")
def rule_unzip(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-d", "-x"})
    for operand in operands[:1]:
        call.read(operand)
    if "-l" in opts or "-t" in opts or "-p" in opts:
        call.low("lists an archive")
        return
    call.write((opts.get("-d") or ["."])[0] + "/" + FOUND, truncate=False, verb="extracts into")


@rule("zip")
def rule_zip(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-x", "-i"})
    if operands:
        call.write(operands[0])
        for operand in operands[1:]:
            call.read(operand)
    if "-m" in opts:
        for operand in operands[1:]:
            call.delete(operand, recursive="-r" in opts)


@rule("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "compress")
def rule_compress(call: Call) -> None:
    """Replace files in place unless `-c` / `-l` / `-t` / `-k`."""
    opts, operands = parse_opts(call.args, {"-S", "--suffix", "-o"})
    if opts.keys() & {"-c", "--stdout", "-l", "--list", "-t", "--test", "-k", "--keep"}:
        for operand in operands:
            call.read(operand)
        call.low("(de)compresses to stdout or keeps the original")
        return
    for operand in operands:
        call.write(operand, truncate=False, verb="replaces in place")
    if not operands:
        call.low("(de)compresses a stream")


__all__ = ["rule_compress", "rule_tar", "rule_unzip", "rule_zip"]
