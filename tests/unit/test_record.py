"""The run record: nodes and daemons recorded by appended lines (one per
shell or daemon, not a rewrite of lab.json each) are found again by
``RunRecord.load``, as clean-up and the watchdog read it."""
from __future__ import annotations

import json

from anycastlab.lab.record import ProcEntry, RunRecord


def test_appended_nodes_and_daemons_are_merged_on_load(tmp_path):
    rec = RunRecord(tmp_path, {"id": "r1", "owner_pid": 1, "nodes": {}, "daemons": []})
    rec.save()
    rec.add_node("a", {"shell_pid": 11, "kind": "router"})
    rec.add_daemon(ProcEntry("bird", 12, 34, "a", ["bird"]))
    on_disk = json.loads((tmp_path / "lab.json").read_text())
    assert on_disk["nodes"] == {} and on_disk["daemons"] == []  # not rewritten per entry
    back = RunRecord.load(tmp_path)
    assert back.data["nodes"]["a"]["shell_pid"] == 11
    assert [(d.name, d.pid) for d in back.daemons()] == [("bird", 12)]
    assert [s.pid for s in back.shells()] == [11]


def test_a_line_cut_short_by_a_kill_is_skipped_and_saved_entries_are_not_doubled(tmp_path):
    rec = RunRecord(tmp_path, {"id": "r1", "owner_pid": 1, "nodes": {}, "daemons": []})
    rec.add_node("a", {"shell_pid": 11})
    rec.add_daemon(ProcEntry("bird", 12, 34, "a", []))
    rec.save()  # lab.json now holds both; the logs still do too
    with open(tmp_path / "daemons.jsonl", "a") as f:
        f.write('{"name": "exabgp", "pid": 1')  # the owner was killed mid-write
    with open(tmp_path / "nodes.jsonl", "a") as f:
        f.write('["b", {"shell_pid"')
    back = RunRecord.load(tmp_path)
    assert [(d.name, d.pid) for d in back.daemons()] == [("bird", 12)]
    assert list(back.data["nodes"]) == ["a"]
