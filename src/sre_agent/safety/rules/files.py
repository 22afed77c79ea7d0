"""Rules for what commands do to files: delete, write, copy/move/link, create, change mode or
owner, and edit (`sed -i`, `awk -i inplace`, editors).

Path effects (`read`, `write`, `delete`, `modify` on `Call`) carry the workspace judgement, so a
rule only says what the command does to which operand.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule

# -- deleting, writing, attributes -----------------------------------------------------------


@rule("rm", "rmdir", "unlink")
def rule_rm(call: Call) -> None:
    opts, operands = parse_opts(call.args)
    recursive = bool(opts.keys() & {"-r", "-R", "--recursive"}) or call.name == "rmdir" \
        and "-p" in opts
    if "--no-preserve-root" in opts:
        call.add(Risk.HIGH, "disables the root-directory safeguard (--no-preserve-root)")
    if not operands:
        call.low("nothing to delete")
    for operand in operands:
        call.delete(operand, recursive=recursive)


@rule("shred")
def rule_shred(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-n", "-s", "--iterations", "--size"})
    for operand in operands:
        call.delete(operand, recursive=False, verb="shreds")


@rule("truncate", "fallocate")
def rule_truncate(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-s", "-r", "--size", "--reference"})
    for operand in operands:
        call.write(operand, verb="truncates")


def _dest_and_sources(opts: dict[str, list[str]],
                      operands: list[str]) -> tuple[str | None, list[str]]:
    target = (opts.get("-t") or opts.get("--target-directory") or [None])[0]
    if target is not None:
        return target, operands
    if len(operands) < 2:
        return None, operands
    return operands[-1], operands[:-1]


_CP_VALUES = {"-t", "--target-directory", "-S", "--suffix", "--backup", "-m", "--mode", "-o",
              "-g", "--owner", "--group"}


@rule("cp", "mv", "install", "ln", "link")
def rule_copy(call: Call) -> None:
    """cp, mv, install, ln: sources are read (mv: removed), the destination written."""
    opts, operands = parse_opts(call.args, _CP_VALUES)
    dest, sources = _dest_and_sources(opts, operands)
    if call.name == "install" and "-d" in opts:
        for operand in operands:
            call.modify(operand, "creates directory")
        return
    for source in sources:
        if call.name == "mv":
            ref = call.ref(source)
            if ref.unknown or not call.judge.inside(ref) or call.judge.is_workspace_root(ref):
                call.delete(source, recursive=True, verb="moves away")
            else:
                call.read(source)
        elif call.name not in ("ln", "link"):
            call.read(source)
    if dest is None:
        call.add(Risk.MEDIUM, "destination not given")
        return
    if call.name in ("ln", "link"):
        _link_targets(call, opts, dest, sources)
    call.write(dest, verb="links" if call.name in ("ln", "link") else "writes")


def _link_targets(call: Call, opts: dict[str, list[str]], dest: str, sources: list[str]) -> None:
    """A link that leads out of the workspace (`ln -s .. up`, `ln -s /proc/self/root r`, a
    hard link to a host file) is a path host code could be led along: HIGH."""
    symbolic = "-s" in opts or "--symbolic" in opts
    for source in sources:
        target = source
        if symbolic and not source.startswith(("/", "~")):
            base = dest if len(sources) > 1 or dest.endswith("/") else dest.rsplit("/", 1)[0] \
                if "/" in dest else "."
            target = f"{base}/{source}"
        ref = call.ref(target)
        norm = ref.norm or ""
        proc_link = norm.startswith("/proc/") and any(
            part in ("root", "cwd", "fd", "exe") for part in norm.split("/")[3:4])
        if ref.unknown or proc_link or not call.judge.inside(ref):
            kind = "symbolic link" if symbolic else "hard link"
            call.add(Risk.HIGH, f"{kind} to {call.show(ref)} outside the workspace")


@rule("touch", "mkdir", "mkfifo")
def rule_create(call: Call) -> None:
    """touch, mkdir, mkfifo: create paths (MEDIUM inside, HIGH outside, scratch MEDIUM)."""
    _, operands = parse_opts(call.args, {"-m", "--mode", "-d", "-t", "-r", "--date",
                                         "--reference", "--context", "-Z"})
    for operand in operands:
        call.write(operand, truncate=False, verb="creates")


@rule("mktemp")
def rule_mktemp(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-p", "--tmpdir", "--suffix"})
    where = (opts.get("-p") or opts.get("--tmpdir") or ["/tmp"])[0]
    call.write(where + "/" + (operands[0] if operands else "tmp.XXXX"), truncate=False,
               verb="creates a temporary file")


_SETUID = re.compile(r"^(?:[ugoa]*[+=][rwxXt]*s|[2467][0-7]{3})$")


@rule("chmod")
def rule_chmod(call: Call) -> None:
    args = [a for a in call.args if a not in ("-R", "-r", "--recursive", "-v", "-f", "-c",
                                             "--verbose", "--silent", "--changes", "-h")]
    opts, operands = parse_opts(args, {"--reference"})
    mode = None if "--reference" in opts or not operands else operands.pop(0)
    if mode is not None and any(_SETUID.match(part) for part in mode.split(",")):
        call.add(Risk.HIGH, f"sets the setuid/setgid bit ({mode})")
    for operand in operands:
        call.modify(operand, f"changes the mode ({mode}) of")


@rule("chown", "chgrp")
def rule_chown(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"--reference", "--from"})
    owner = None if "--reference" in opts or not operands else operands.pop(0)
    for operand in operands:
        call.modify(operand, f"changes the owner ({owner}) of")


@rule("chattr", "setfacl")
def rule_attr(call: Call) -> None:
    """chattr, setfacl: attributes and ACLs."""
    _, operands = parse_opts(call.args, {"-m", "-M", "-x", "-X", "--set", "--modify"})
    paths = operands[1:] if call.name == "chattr" and operands else operands
    for operand in paths:
        call.modify(operand, "changes attributes of")


@rule("dd")
def rule_dd(call: Call) -> None:
    params = dict(a.split("=", 1) for a in call.args if "=" in a)
    if "if" in params:
        call.read(params["if"])
    if "of" in params:
        call.write(params["of"], truncate="notrunc" not in params.get("conv", ""))
    else:
        call.low("copies to stdout")


# -- editing ---------------------------------------------------------------------------------

_SED_VALUES = {"-e", "--expression", "-f", "--file", "-l", "--line-length", "-s"}


@rule("sed", "gsed")
def rule_sed(call: Call) -> None:
    in_place = any(a == "--in-place" or a.startswith(("--in-place=", "-i")) or
                   re.fullmatch(r"-[nrEsuz]*i\S*", a) for a in call.args)
    args = [a for a in call.args if not (a.startswith("-i") or a.startswith("--in-place")
                                         or re.fullmatch(r"-[nrEsuz]+i\S*", a))]
    opts, operands = parse_opts(args, _SED_VALUES)
    scripts = opts.get("-e", []) + opts.get("--expression", [])
    if not scripts and not opts.keys() & {"-f", "--file"} and operands:
        scripts = [operands.pop(0)]
    for script in scripts:
        for target in re.findall(r"(?:^|[;\n}])\s*(?:\d+|/[^/]*/)?\s*w\s+(\S+)", script):
            call.write(target, truncate=False)
        if re.search(r"(?:^|[;\n])\s*e\b|s(.).*?\1.*?\1[gpIi0-9]*e", script):
            call.add(Risk.MEDIUM, "sed script executes shell commands (e)")
    for operand in operands:
        if in_place:
            call.write(operand, truncate=False, verb="edits in place")
        else:
            call.read(operand)
    if not in_place:
        call.low("stream edit to stdout")


@rule("awk", "gawk", "mawk", "nawk")
def rule_awk(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-F", "-v", "-f", "--field-separator", "--assign",
                                            "-i", "--include", "-E"})
    program = "" if opts.keys() & {"-f", "-E"} else (operands.pop(0) if operands else "")
    if "inplace" in opts.get("-i", []) + opts.get("--include", []):
        for operand in operands:
            call.write(operand, truncate=False, verb="edits in place")
    for cmd in re.findall(r"system\s*\(\s*\"([^\"]*)\"", program):
        call.run_script(cmd)
    if re.search(r"system\s*\(|\|\s*\"|\|&|getline", program) and "system(" in program.replace(
            " ", "") or re.search(r"\|\s*\"[^\"]+\"", program):
        call.add(Risk.MEDIUM, "awk program runs shell commands")
    for target in re.findall(r">>?\s*\"([^\"]+)\"", program):
        call.write(target, truncate=False)
    for operand in operands:
        if "=" not in operand:
            call.read(operand)
    call.low("text processing")


@rule("vi", "vim", "nvim", "nano", "emacs", "ed", "ex", "pico", "joe", "micro", "vipe")
def rule_editor(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-c", "-u", "-S"})
    for operand in operands:
        if not operand.startswith("+"):
            call.write(operand, truncate=False, verb="edits")
    if not operands:
        call.add(Risk.MEDIUM, "starts an interactive editor")


__all__ = ["rule_attr", "rule_awk", "rule_chmod", "rule_chown", "rule_copy", "rule_create",
           "rule_dd", "rule_editor", "rule_mktemp", "rule_rm", "rule_sed", "rule_shred",
           "rule_truncate"]
