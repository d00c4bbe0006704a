"""Processes seen through /proc (Linux): children of a pid, and whether a pid is still alive."""

from __future__ import annotations

from pathlib import Path


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a zombie has already exited)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def descendants(pid: int) -> list[int]:
    """Children of `pid`, their children, and so on."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return sorted(found)


def redaction_workers(server_pid: int) -> list[int]:
    """The redaction workers of a `serve` or `redact` process: the children of its fork server
    (its child that runs multiprocessing's spawn_main and is not the resource tracker, or, forked
    by `redact`, its child with its own command line)."""
    own = command_line(server_pid)

    def is_fork_server(line: str) -> bool:
        return ("spawn_main" in line and "resource_tracker" not in line) or line == own

    fork_servers = [pid for pid in children(server_pid) if is_fork_server(command_line(pid))]
    return sorted(worker for fork_server in fork_servers for worker in children(fork_server))
