"""Our protocol (protos/*.proto, compiled into the crate) against the wheel's.

The Python SDK parses every message with the descriptors embedded in its
`_pb2` modules, so those are the definition we must be wire-identical to.
Ours come from `livekit_ffi::FILE_DESCRIPTOR_SET`, dumped by the
`dump_descriptors` example:

    cargo run -q -p livekit-ffi --example dump_descriptors

(run with --offline first, so a busy or unreachable registry cannot stall the
test; set LIVEKIT_FFI_DESCRIPTORS=<file> to use an already dumped set.)

Compared in both directions, per file: package, csharp_namespace, imports,
every message (recursively, including map entries), every field (name, number,
type, type_name, label, default, oneof membership, proto3_optional), every
oneof, every enum and enum value. Comments and layout are ours and not
compared. Field options (e.g. `deprecated`) do not affect the wire; a
difference there is reported as a warning only.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2 as d

from conftest import REPO_ROOT

MODULES = [
    "audio_frame", "capture", "data_stream", "data_track", "e2ee", "ffi", "handle",
    "participant", "room", "rpc", "stats", "track", "track_publication", "video_frame",
]

TYPE_NAMES = {v: k[len("TYPE_"):].lower() for k, v in d.FieldDescriptorProto.Type.items()}
LABEL_NAMES = {v: k[len("LABEL_"):].lower() for k, v in d.FieldDescriptorProto.Label.items()}


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def wheel_files() -> dict[str, d.FileDescriptorProto]:
    files = {}
    for name in MODULES:
        module = importlib.import_module(f"livekit.rtc._proto.{name}_pb2")
        fd = d.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        files[fd.name] = fd
    return files


def _dump_with_cargo() -> bytes:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    base = ["cargo", "run", "-q", "-p", "livekit-ffi", "--example", "dump_descriptors"]
    attempts = [base[:2] + ["--offline"] + base[2:], base]
    proc = None
    for cmd in attempts:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, timeout=1800)
        if proc.returncode == 0:
            return proc.stdout
        err = proc.stderr.decode(errors="replace")
        # Only a missing dependency is worth an online retry.
        if "offline" not in err and "download" not in err:
            break
    raise AssertionError(
        f"`{' '.join(proc.args)}` failed (exit {proc.returncode}):\n"
        + proc.stderr.decode(errors="replace")[-4000:]
    )


@pytest.fixture(scope="module")
def ours() -> dict[str, d.FileDescriptorProto]:
    override = os.environ.get("LIVEKIT_FFI_DESCRIPTORS", "").strip()
    raw = Path(override).read_bytes() if override else _dump_with_cargo()
    fds = d.FileDescriptorSet.FromString(raw)
    assert fds.file, "the dumped FileDescriptorSet is empty"
    return {fd.name: fd for fd in fds.file}


@pytest.fixture(scope="module")
def wheel() -> dict[str, d.FileDescriptorProto]:
    return wheel_files()


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------


class Diff:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def check(self, path: str, what: str, wheel_value, our_value) -> None:
        if wheel_value != our_value:
            self.errors.append(f"{path}: {what}: wheel={wheel_value!r} ours={our_value!r}")

    def both_ways(self, path: str, kind: str, wheel_names, our_names) -> list[str]:
        """Report names present on one side only; return the common ones in wheel order."""
        ours = set(our_names)
        theirs = set(wheel_names)
        for name in wheel_names:
            if name not in ours:
                self.errors.append(f"{path}: {kind} {name!r} missing in ours")
        for name in our_names:
            if name not in theirs:
                self.errors.append(f"{path}: {kind} {name!r} only in ours")
        return [n for n in wheel_names if n in ours]


def _syntax(fd: d.FileDescriptorProto) -> str:
    return fd.syntax or "proto2"


def _field_summary(msg: d.DescriptorProto, f: d.FieldDescriptorProto) -> dict:
    oneof = None
    if f.HasField("oneof_index"):
        oneof = msg.oneof_decl[f.oneof_index].name
    return {
        "number": f.number,
        "type": TYPE_NAMES.get(f.type, f.type),
        "type_name": f.type_name or None,
        "label": LABEL_NAMES.get(f.label, f.label),
        "default": f.default_value if f.HasField("default_value") else None,
        "oneof": oneof,
        "proto3_optional": f.proto3_optional,
        "extendee": f.extendee or None,
    }


def compare_enum(diff: Diff, path: str, wheel: d.EnumDescriptorProto, ours: d.EnumDescriptorProto) -> None:
    w_values = {v.name: v.number for v in wheel.value}
    o_values = {v.name: v.number for v in ours.value}
    for name in diff.both_ways(path, "value", list(w_values), list(o_values)):
        diff.check(f"{path}.{name}", "number", w_values[name], o_values[name])
    diff.check(path, "allow_alias", wheel.options.allow_alias, ours.options.allow_alias)


def compare_message(diff: Diff, path: str, wheel: d.DescriptorProto, ours: d.DescriptorProto) -> None:
    diff.check(path, "map_entry", wheel.options.map_entry, ours.options.map_entry)

    w_fields = {f.name: f for f in wheel.field}
    o_fields = {f.name: f for f in ours.field}
    for name in diff.both_ways(path, "field", list(w_fields), list(o_fields)):
        wf, of = w_fields[name], o_fields[name]
        w_sum, o_sum = _field_summary(wheel, wf), _field_summary(ours, of)
        for key in w_sum:
            diff.check(f"{path}.{name}", key, w_sum[key], o_sum[key])
        for opt in ("deprecated", "packed"):
            w_opt = getattr(wf.options, opt) if wf.options.HasField(opt) else None
            o_opt = getattr(of.options, opt) if of.options.HasField(opt) else None
            if w_opt != o_opt:
                diff.warnings.append(f"{path}.{name}: option {opt}: wheel={w_opt!r} ours={o_opt!r}")

    w_oneofs = [o.name for o in wheel.oneof_decl]
    o_oneofs = [o.name for o in ours.oneof_decl]
    diff.both_ways(path, "oneof", w_oneofs, o_oneofs)

    w_nested = {m.name: m for m in wheel.nested_type}
    o_nested = {m.name: m for m in ours.nested_type}
    for name in diff.both_ways(path, "nested message", list(w_nested), list(o_nested)):
        compare_message(diff, f"{path}.{name}", w_nested[name], o_nested[name])

    w_enums = {e.name: e for e in wheel.enum_type}
    o_enums = {e.name: e for e in ours.enum_type}
    for name in diff.both_ways(path, "nested enum", list(w_enums), list(o_enums)):
        compare_enum(diff, f"{path}.{name}", w_enums[name], o_enums[name])

    w_ranges = sorted((r.start, r.end) for r in wheel.extension_range)
    o_ranges = sorted((r.start, r.end) for r in ours.extension_range)
    diff.check(path, "extension ranges", w_ranges, o_ranges)


def compare_file(diff: Diff, wheel: d.FileDescriptorProto, ours: d.FileDescriptorProto) -> None:
    path = wheel.name
    diff.check(path, "package", wheel.package, ours.package)
    diff.check(path, "syntax", _syntax(wheel), _syntax(ours))
    diff.check(path, "imports", sorted(wheel.dependency), sorted(ours.dependency))
    diff.check(path, "csharp_namespace", wheel.options.csharp_namespace, ours.options.csharp_namespace)

    w_msgs = {m.name: m for m in wheel.message_type}
    o_msgs = {m.name: m for m in ours.message_type}
    for name in diff.both_ways(path, "message", list(w_msgs), list(o_msgs)):
        compare_message(diff, f"{path}: {name}", w_msgs[name], o_msgs[name])

    w_enums = {e.name: e for e in wheel.enum_type}
    o_enums = {e.name: e for e in ours.enum_type}
    for name in diff.both_ways(path, "enum", list(w_enums), list(o_enums)):
        compare_enum(diff, f"{path}: {name}", w_enums[name], o_enums[name])

    diff.check(path, "services", [s.name for s in wheel.service], [s.name for s in ours.service])
    diff.check(path, "extensions", [e.name for e in wheel.extension], [e.name for e in ours.extension])


def compare_sets(wheel: dict[str, d.FileDescriptorProto], ours: dict[str, d.FileDescriptorProto]) -> Diff:
    diff = Diff()
    for name in diff.both_ways("descriptor set", "file", sorted(wheel), sorted(ours)):
        compare_file(diff, wheel[name], ours[name])
    return diff


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_wheel_modules_are_the_expected_set(wheel):
    assert sorted(wheel) == sorted(f"{m}.proto" for m in MODULES)


def test_comparison_detects_differences(wheel):
    """Self-check of the comparer on doctored copies of the wheel's own descriptors."""
    assert compare_sets(wheel, wheel).errors == []
    doctored = {name: d.FileDescriptorProto.FromString(fd.SerializeToString()) for name, fd in wheel.items()}
    ffi = doctored["ffi.proto"]
    request = next(m for m in ffi.message_type if m.name == "FfiRequest")
    request.field[0].number += 1000
    del request.field[-1]
    ffi.options.csharp_namespace = "Wrong"
    errors = compare_sets(wheel, doctored).errors
    assert any("FfiRequest" in e and "number" in e for e in errors), errors
    assert any("missing in ours" in e for e in errors), errors
    assert any("csharp_namespace" in e for e in errors), errors


def test_our_protocol_matches_the_wheel(wheel, ours):
    diff = compare_sets(wheel, ours)
    for warning in diff.warnings:
        warnings.warn(f"non-wire difference: {warning}")
    assert not diff.errors, f"{len(diff.errors)} differences:\n" + "\n".join(diff.errors)


def test_csharp_namespace(ours):
    wrong = {name: fd.options.csharp_namespace for name, fd in ours.items() if fd.options.csharp_namespace != "LiveKit.Proto"}
    assert not wrong, wrong
