#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (Fuzz/Corpus/<harness>/): valid and near-valid events and
command requests after PROTOCOL.md and the tests' fixtures, and the shipped Config/ and Scenarios/ files.
Run from anywhere: `python3 Fuzz/make-corpus.py`. Files are named by content, so reruns add nothing twice."""
import hashlib, json, pathlib, shutil

fuzz = pathlib.Path(__file__).resolve().parent
root = fuzz.parent

def write(harness, data):
    if isinstance(data, str):
        data = data.encode()
    folder = fuzz / "Corpus" / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)

# Events: every shipped type, optional fields, times with zones and fractions, a few near misses.
base = {"id": "e-1", "source": "sz.futian", "kind": "sensor", "type": "water_level",
        "time": "2026-07-01T08:30:00Z", "location": {"lat": 22.54, "lon": 114.05}, "values": {"level_m": 3.2}}
events = [
    base,
    {**base, "area": "sz.futian.shatou", "status": "exercise", "device": "wl-0042"},
    {**base, "id": "e-2", "type": "rainfall", "values": {"mm_per_h": 55.5}, "time": "2026-07-01T16:30:00+08:00"},
    {**base, "id": "e-3", "type": "wind_speed", "values": {"m_per_s": 33.1}, "time": "2026-07-01T08:30:00.123456Z"},
    {**base, "id": "e-4", "type": "crowd_density", "values": {"persons_per_m2": 6.5}, "source": "sz.nanshan",
     "area": "sz.nanshan.yuehai"},
    {**base, "id": "e-5", "type": "gas_concentration", "values": {"ppm": 250, "lel_pct": 12.5}, "status": "test"},
    {**base, "id": "r-1", "kind": "report", "type": "report.fire", "values": {"injured": 2},
     "text": "三楼厨房起火 🔥 有人被困"},
    {**base, "id": "r-2", "kind": "report", "type": "report.collapse", "values": {"trapped": 4}, "source": "sz"},
    {**base, "id": "r-3", "kind": "report", "type": "report.traffic_accident", "values": {"vehicles": 5, "injured": 3}},
    {**base, "id": "r-4", "kind": "report", "type": "report.illness", "values": {"cases": 21},
     "time": "2016-12-31T23:59:60Z"},
    {**base, "id": "r-5", "kind": "report", "type": "report.crowd", "values": {}, "text": "line 1\nline 2 \"q\""},
    {**base, "location": {"lat": -90, "lon": 180}, "values": {"level_m": -0.0}},
    {**base, "location": {"lat": 1e-7, "lon": -0.0}, "values": {"level_m": 12345678901234567890}},
]
for e in events:
    write("event", json.dumps(e, ensure_ascii=False, separators=(",", ":")))
write("event", json.dumps(base, indent=2))
for raw in [
    '{"id":"e-1","id":"e-2"}',
    '{"id":"e-1","values":{"level_m":1e309}}',
    '{"id":"e\\u0000","time":"2026-07-01T08:30:00"}',
    '{"id":"e-1","source":"sz.fut\\u0456an","text":"\\ud83d"}',
    '{"id":"\u202eevil","area":"sz.futian\u200b"}',
    '[{"id":"e-1"}]',
    '{"values":{"level_m":NaN}}',
]:
    write("event", raw)

# Command requests: every op of the contract and the extensions, and a few refusals.
for c in [
    {"op": "stats"}, {"op": "progress"}, {"op": "since", "seq": 0}, {"op": "since", "seq": 41, "prefix": "actual/warning/"},
    {"op": "active"}, {"op": "active", "prefix": "actual/warning/district/sz.futian."},
    {"op": "ack", "warning": "w-1", "by": "sz.futian"}, {"op": "ack", "warning": "w-1", "by": "sz", "operator": "Li Wei"},
    {"op": "close", "incident": "inc-12", "by": "sz.futian"},
    {"op": "step", "task": "t-inc-12-verify_site", "by": "sz.futian.shatou", "state": "acknowledged"},
    {"op": "step", "task": "t-inc-12-verify_site", "by": "sz.futian", "state": "done"},
    {"op": "cap", "warning": "w-3"}, {"op": "audit", "incident": "inc-12"}, {"op": "incidents"},
    {"op": "since", "seq": 9007199254740993}, {"op": "since", "seq": -0.0}, {"op": "since", "seq": 1.5},
    {"op": "ack", "warning": "w-1", "by": "SZ.Futian"}, {"op": "nope"}, {"seq": 1},
]:
    write("command", json.dumps(c, ensure_ascii=False, separators=(",", ":")))
write("command", "not json")

# Config and plans: the shipped files; scenarios: the shipped drills.
for path in sorted((root / "Config").glob("*.yaml")) + sorted((root / "Config" / "plans").glob("*.yaml")):
    write("config", path.read_bytes())
for path in sorted((root / "Scenarios").glob("*.yaml")):
    write("scenario", path.read_bytes())
