#!/usr/bin/env python3
"""Render the FFI protocol spoken by the `livekit` Python wheel as `.proto` files.

The wheel's `_pb2.py` modules embed the serialized descriptors that its own
parser uses, so they are the authoritative definition of what our library must
speak. This tool turns those descriptors into proto2 source in our own layout;
`tests/python/test_proto_conformance.py` checks the result field by field.

Run it again only when moving to a newer wheel:

    python tools/render_protos.py protos/
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2 as d

MODULES = [
    "handle", "e2ee", "stats", "track", "track_publication", "participant",
    "audio_frame", "video_frame", "rpc", "data_stream", "data_track", "capture",
    "room", "ffi",
]

SCALARS = {
    d.FieldDescriptorProto.TYPE_DOUBLE: "double",
    d.FieldDescriptorProto.TYPE_FLOAT: "float",
    d.FieldDescriptorProto.TYPE_INT64: "int64",
    d.FieldDescriptorProto.TYPE_UINT64: "uint64",
    d.FieldDescriptorProto.TYPE_INT32: "int32",
    d.FieldDescriptorProto.TYPE_FIXED64: "fixed64",
    d.FieldDescriptorProto.TYPE_FIXED32: "fixed32",
    d.FieldDescriptorProto.TYPE_BOOL: "bool",
    d.FieldDescriptorProto.TYPE_STRING: "string",
    d.FieldDescriptorProto.TYPE_BYTES: "bytes",
    d.FieldDescriptorProto.TYPE_UINT32: "uint32",
    d.FieldDescriptorProto.TYPE_SFIXED32: "sfixed32",
    d.FieldDescriptorProto.TYPE_SFIXED64: "sfixed64",
    d.FieldDescriptorProto.TYPE_SINT32: "sint32",
    d.FieldDescriptorProto.TYPE_SINT64: "sint64",
}
LABELS = {1: "optional", 2: "required", 3: "repeated"}


def wheel_descriptors() -> dict[str, d.FileDescriptorProto]:
    """The FileDescriptorProto of every module in the installed wheel."""
    out = {}
    for name in MODULES:
        mod = importlib.import_module(f"livekit.rtc._proto.{name}_pb2")
        out[name] = d.FileDescriptorProto.FromString(mod.DESCRIPTOR.serialized_pb)
    return out


def type_name(field: d.FieldDescriptorProto) -> str:
    if field.type in SCALARS:
        return SCALARS[field.type]
    # Fully qualified with a leading dot keeps resolution unambiguous.
    return field.type_name


def default_text(field: d.FieldDescriptorProto) -> str:
    if not field.HasField("default_value"):
        return ""
    value = field.default_value
    if field.type == d.FieldDescriptorProto.TYPE_STRING:
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"default = {value}"


def render_enum(enum: d.EnumDescriptorProto, indent: str) -> list[str]:
    lines = [f"{indent}enum {enum.name} {{"]
    if enum.options.allow_alias:
        lines.append(f"{indent}  option allow_alias = true;")
    for value in enum.value:
        lines.append(f"{indent}  {value.name} = {value.number};")
    lines.append(f"{indent}}}")
    return lines


def options_text(field: d.FieldDescriptorProto) -> str:
    options = []
    if field.HasField("default_value"):
        options.append(default_text(field))
    if field.options.deprecated:
        options.append("deprecated = true")
    return f" [{', '.join(options)}]" if options else ""


def render_field(field: d.FieldDescriptorProto, indent: str, in_oneof: bool) -> str:
    label = "" if in_oneof else LABELS[field.label] + " "
    return f"{indent}{label}{type_name(field)} {field.name} = {field.number}{options_text(field)};"


def render_message(msg: d.DescriptorProto, indent: str) -> list[str]:
    lines = [f"{indent}message {msg.name} {{"]
    inner = indent + "  "
    for enum in msg.enum_type:
        lines += render_enum(enum, inner)
    map_entries = {}
    for nested in msg.nested_type:
        if nested.options.map_entry:
            map_entries[nested.name] = nested
            continue
        lines += render_message(nested, inner)
    emitted_oneofs = set()
    for field in msg.field:
        if field.HasField("oneof_index") and not field.proto3_optional:
            index = field.oneof_index
            if index in emitted_oneofs:
                continue
            emitted_oneofs.add(index)
            lines.append(f"{inner}oneof {msg.oneof_decl[index].name} {{")
            for member in msg.field:
                if member.HasField("oneof_index") and member.oneof_index == index:
                    lines.append(render_field(member, inner + "  ", True))
            lines.append(f"{inner}}}")
        elif field.type_name.rsplit(".", 1)[-1] in map_entries and field.label == 3:
            entry = map_entries[field.type_name.rsplit(".", 1)[-1]]
            key, value = entry.field[0], entry.field[1]
            lines.append(
                f"{inner}map<{type_name(key)}, {type_name(value)}> {field.name} = {field.number};"
            )
        else:
            lines.append(render_field(field, inner, False))
    for rng in msg.reserved_range:
        lines.append(f"{inner}reserved {rng.start} to {rng.end - 1};")
    lines.append(f"{indent}}}")
    return lines


def render_file(fd: d.FileDescriptorProto) -> str:
    lines = [
        "// Part of the LiveKit FFI protocol, wire-identical to the `livekit` 1.2.0 wheel.",
        "// Rendered by tools/render_protos.py; checked by tests/python/test_proto_conformance.py.",
        "",
        'syntax = "proto2";',
        "",
        f"package {fd.package};",
        f'option csharp_namespace = "{fd.options.csharp_namespace}";',
        "",
    ]
    for dep in fd.dependency:
        lines.append(f'import "{dep}";')
    if fd.dependency:
        lines.append("")
    for enum in fd.enum_type:
        lines += render_enum(enum, "")
        lines.append("")
    for msg in fd.message_type:
        lines += render_message(msg, "")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "protos")
    target.mkdir(parents=True, exist_ok=True)
    for name, fd in wheel_descriptors().items():
        (target / fd.name).write_text(render_file(fd))
        print(f"wrote {target / fd.name}")


if __name__ == "__main__":
    main()
