"""execd through the official OpenSandbox Python SDK (1.1.1), under runc and runsc.

Every test gets a fresh sandbox from ``execd_sandbox`` and drives execd with
the SDK's own command, session, filesystem and metrics calls.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from helpers import BUSYBOX_IMAGE, wait_for
from opensandbox.models.execd import RunCommandOpts
from opensandbox.models.filesystem import (
    ContentReplaceEntry,
    DirectoryListEntry,
    MoveEntry,
    SearchEntry,
    SetPermissionEntry,
    WriteEntry,
)

pytestmark = pytest.mark.docker


def stdout_lines(execution: Any) -> list[str]:
    return [m.text for m in execution.logs.stdout]


def stderr_lines(execution: Any) -> list[str]:
    return [m.text for m in execution.logs.stderr]


def test_run_streams_lines_and_exit_zero(execd_sandbox: Any):
    ex = execd_sandbox.commands.run("echo one; echo two >&2; printf 'three\\nfour'")
    assert ex.exit_code == 0
    assert ex.error is None
    assert stdout_lines(ex) == ["one", "three", "four"]
    assert stderr_lines(ex) == ["two"]
    assert ex.id


def test_run_nonzero_exit_and_status(execd_sandbox: Any):
    ex = execd_sandbox.commands.run("echo before; exit 3")
    assert ex.exit_code == 3
    assert ex.error is not None and ex.error.value == "3"
    status = execd_sandbox.commands.get_command_status(ex.id)
    assert status.running is False
    assert status.exit_code == 3
    assert status.finished_at is not None


def test_run_env_cwd_and_no_token_leak(execd_sandbox: Any):
    opts = RunCommandOpts(envs={"GREETING": "hi there"}, working_directory="/tmp")
    ex = execd_sandbox.commands.run('echo "$GREETING"; pwd; env', opts=opts)
    out = stdout_lines(ex)
    assert out[:2] == ["hi there", "/tmp"]
    assert not [line for line in out if "EXECD_ACCESS_TOKEN" in line]


def test_run_as_another_user(execd_sandbox: Any):
    opts = RunCommandOpts(uid=65534, gid=65534)
    result = execd_sandbox.commands.run("id -u; id -g; touch /root/forbidden", opts=opts)
    assert stdout_lines(result)[:2] == ["65534", "65534"]
    assert result.error is not None  # nobody cannot write to /root


def test_set_env_reaches_later_commands(execd_sandbox: Any):
    execd_sandbox.commands.set_env("PERSISTED", "it's kept")
    ex = execd_sandbox.commands.run('echo "$PERSISTED"')
    assert stdout_lines(ex) == ["it's kept"]


def test_run_timeout_kills_command(execd_sandbox: Any):
    started = time.monotonic()
    ex = execd_sandbox.commands.run(
        "sleep 60 & sleep 60", opts=RunCommandOpts(timeout=timedelta(seconds=1))
    )
    assert time.monotonic() - started < 10
    assert ex.exit_code not in (None, 0)
    assert ex.error is not None


def test_background_logs_cursor_and_interrupt(execd_sandbox: Any):
    cmds = execd_sandbox.commands
    ex = cmds.run(
        "for i in 1 2 3; do echo line$i; done; sleep 300",
        opts=RunCommandOpts(background=True),
    )
    assert ex.id

    def has_all_lines() -> bool:
        return "line3" in cmds.get_background_command_logs(ex.id).content

    wait_for(has_all_lines, 15, "background output")
    logs = cmds.get_background_command_logs(ex.id)
    assert logs.content.splitlines() == ["line1", "line2", "line3"]
    assert logs.cursor == 3
    assert cmds.get_background_command_logs(ex.id, cursor=logs.cursor).content == ""
    assert cmds.get_command_status(ex.id).running is True

    cmds.interrupt(ex.id)
    wait_for(lambda: cmds.get_command_status(ex.id).running is False, 15, "interrupt")
    assert cmds.get_command_status(ex.id).exit_code != 0
    left = cmds.run("ps -o pid,args 2>/dev/null || ps")
    assert not [line for line in stdout_lines(left) if "sleep 300" in line]


def test_session_keeps_shell_state(execd_sandbox: Any):
    cmds = execd_sandbox.commands
    sid = cmds.create_session(working_directory="/tmp")
    try:
        first = cmds.run_in_session(sid, "export COLOR=blue; mkdir -p sub && cd sub")
        assert first.exit_code == 0
        second = cmds.run_in_session(sid, 'echo "$COLOR"; pwd')
        assert stdout_lines(second) == ["blue", "/tmp/sub"]
        failed = cmds.run_in_session(sid, "echo partial; false")
        assert failed.exit_code == 1
        assert stdout_lines(failed) == ["partial"]
        heredoc = cmds.run_in_session(sid, "cat <<'EOF'\nline 'a'\nline \"b\"\nEOF")
        assert stdout_lines(heredoc) == ["line 'a'", 'line "b"']
    finally:
        cmds.delete_session(sid)


def test_files_write_read_info_and_range(execd_sandbox: Any):
    fs = execd_sandbox.files
    fs.write_files(
        [
            WriteEntry(path="/work/a/hello.txt", data="hello world\nline2\n", mode=644),
            WriteEntry(path="/work/a/b/data.bin", data=bytes(range(256)), mode=600),
        ]
    )
    assert fs.read_file("/work/a/hello.txt") == "hello world\nline2\n"
    assert fs.read_bytes("/work/a/b/data.bin") == bytes(range(256))
    assert fs.read_bytes("/work/a/b/data.bin", range_header="bytes=10-13") == bytes(range(10, 14))
    info = fs.get_file_info(["/work/a/hello.txt", "/work/a/b"])
    assert info["/work/a/hello.txt"].mode == 644
    assert info["/work/a/hello.txt"].size == len("hello world\nline2\n")
    assert info["/work/a/hello.txt"].entry_type == "file"
    assert info["/work/a/hello.txt"].owner == "root"
    assert info["/work/a/b"].entry_type == "directory"


def test_files_search_list_move_delete(execd_sandbox: Any):
    fs = execd_sandbox.files
    fs.write_files(
        [
            WriteEntry(path="/srch/x.txt", data="x"),
            WriteEntry(path="/srch/deep/y.txt", data="y"),
            WriteEntry(path="/srch/deep/z.py", data="z"),
        ]
    )
    found = sorted(e.path for e in fs.search(SearchEntry(path="/srch", pattern="*.txt")))
    assert found == ["/srch/deep/y.txt", "/srch/x.txt"]
    listed = [e.path for e in fs.list_directory(DirectoryListEntry(path="/srch", depth=2))]
    assert listed == ["/srch/deep", "/srch/deep/y.txt", "/srch/deep/z.py", "/srch/x.txt"]

    fs.move_files([MoveEntry(src="/srch/x.txt", dest="/srch/deep/moved.txt")])
    assert fs.read_file("/srch/deep/moved.txt") == "x"
    fs.delete_files(["/srch/deep/moved.txt"])
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own exception type
        fs.get_file_info(["/srch/deep/moved.txt"])
    fs.delete_directories(["/srch/deep"])
    assert [e.path for e in fs.list_directory(DirectoryListEntry(path="/srch"))] == []


def test_files_directories_permissions_replace(execd_sandbox: Any):
    fs = execd_sandbox.files
    fs.create_directories([WriteEntry(path="/perm/p/q", mode=700)])
    assert fs.get_file_info(["/perm/p/q"])["/perm/p/q"].mode == 700
    fs.write_file("/perm/p/q/conf.ini", "host=localhost\nport=80\nhost2=localhost\n", mode=644)
    fs.set_permissions([SetPermissionEntry(path="/perm/p/q/conf.ini", mode=640, owner="nobody")])
    info = fs.get_file_info(["/perm/p/q/conf.ini"])["/perm/p/q/conf.ini"]
    assert (info.mode, info.owner) == (640, "nobody")
    conf = "/perm/p/q/conf.ini"
    swap = ContentReplaceEntry(path=conf, old_content="localhost", new_content="0.0.0.0")
    fs.replace_contents([swap])
    assert fs.read_file("/perm/p/q/conf.ini") == "host=0.0.0.0\nport=80\nhost2=0.0.0.0\n"
    counts = fs.replace_contents_detailed(
        [ContentReplaceEntry(path="/perm/p/q/conf.ini", old_content="80", new_content="8080")]
    )
    assert [(c.path, c.replaced_count) for c in counts] == [("/perm/p/q/conf.ini", 1)]
    assert fs.get_file_info(["/perm/p/q/conf.ini"])["/perm/p/q/conf.ini"].mode == 640


def test_metrics(execd_sandbox: Any):
    m = execd_sandbox.get_metrics()
    assert m.cpu_count > 0
    assert m.memory_total_in_mib > 0
    assert 0 < m.memory_used_in_mib <= m.memory_total_in_mib
    assert 0 <= m.cpu_used_percentage <= 100
    assert m.timestamp > 0


@pytest.mark.parametrize("sandbox_image", [BUSYBOX_IMAGE])
def test_busybox_run_and_files(execd_sandbox: Any):
    ex = execd_sandbox.commands.run("echo from-busybox; cat /proc/1/cmdline | tr '\\0' ' '")
    assert ex.exit_code == 0
    out = stdout_lines(ex)
    assert out[0] == "from-busybox"
    assert "execd init" in out[1]
    execd_sandbox.files.write_file("/tmp/bb/note.txt", "busybox ok\n", mode=644)
    assert execd_sandbox.files.read_file("/tmp/bb/note.txt") == "busybox ok\n"
    sid = execd_sandbox.commands.create_session()
    try:
        execd_sandbox.commands.run_in_session(sid, "cd /tmp/bb && X=7")
        again = execd_sandbox.commands.run_in_session(sid, 'echo "$X $(pwd)"')
        assert stdout_lines(again) == ["7 /tmp/bb"]
    finally:
        execd_sandbox.commands.delete_session(sid)
