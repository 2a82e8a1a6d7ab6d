"""PyYAML oracle for tests/yaml_vs_pyyaml.rs.

Reads a JSON object {"mode": "load"|"metadata", "docs": [str, ...]} from the file given as
argv[1] and prints, for every document, one record "<byte length>:<canonical form>".

Canonical form (mirrored by the Rust test):
  N  None            B1 / B0  bool            I<int>;  int
  F<bits>;  float as the signed 64-bit pattern of the IEEE double, "Fnan;" for NaN
  S<bytes>:<utf-8 text>  str          D  date     T  datetime
  L<n>[<items>]  list                M<n>[<key><value>...]  dict (insertion order)
  X<type>;  anything else (bytes, set, ...); "Xrecursive;" for a recursive reference
  E:yaml  a yaml.YAMLError           E:other:<exception type>  any other exception
For mode "load", a successful load is followed by "\x01POS" and the 1-based "line.column," of
every node in pre-order (mapping keys before their values), unless the document uses merge
keys or aliases, or repeats a key (then the composed tree and the value differ in shape).
"""

import datetime
import json
import struct
import sys

import yaml


def canon(value, stack=()):
    if isinstance(value, (list, dict)):
        if id(value) in stack:
            return "Xrecursive;"
        stack = stack + (id(value),)
    if value is None:
        return "N"
    if value is True:
        return "B1"
    if value is False:
        return "B0"
    if isinstance(value, int):
        return "I%d;" % value
    if isinstance(value, float):
        if value != value:
            return "Fnan;"
        return "F%d;" % struct.unpack("<q", struct.pack("<d", value))[0]
    if isinstance(value, str):
        return "S%d:%s" % (len(value.encode("utf-8")), value)
    if isinstance(value, datetime.datetime):
        return "T"
    if isinstance(value, datetime.date):
        return "D"
    if isinstance(value, list):
        return "L%d[%s]" % (len(value), "".join(canon(v, stack) for v in value))
    if isinstance(value, dict):
        return "M%d[%s]" % (
            len(value),
            "".join(canon(k, stack) + canon(v, stack) for k, v in value.items()),
        )
    return "X%s;" % type(value).__name__


def positions(node, value):
    """Pre-order "line.column," of every node, or None when the composed tree and the value
    differ in shape (merge keys, duplicate keys)."""
    out = "%d.%d," % (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        if not isinstance(value, dict) or len(node.value) != len(value):
            return None
        for (key_node, value_node), (key, val) in zip(node.value, value.items()):
            for sub_node, sub_value in ((key_node, key), (value_node, val)):
                sub = positions(sub_node, sub_value)
                if sub is None:
                    return None
                out += sub
    elif isinstance(node, yaml.SequenceNode):
        if not isinstance(value, list) or len(node.value) != len(value):
            return None
        for sub_node, sub_value in zip(node.value, value):
            sub = positions(sub_node, sub_value)
            if sub is None:
                return None
            out += sub
    return out


def load(doc):
    try:
        value = yaml.safe_load(doc)
    except yaml.YAMLError:
        return "E:yaml"
    except Exception as exc:  # noqa: BLE001 - the point is to classify every exception
        return "E:other:%s" % type(exc).__name__
    out = canon(value)
    node = yaml.compose(doc, Loader=yaml.SafeLoader)
    if node is not None and "<<" not in doc and "*" not in doc:
        pos = positions(node, value)
        if pos is not None:
            out += "\x01POS" + pos
    return out


def get_metadata_from_message(message):
    """packit.utils.repo.get_metadata_from_message, on a plain string."""
    splitted_message = message.split("\n")
    for i in range(len(splitted_message)):
        message_part = "\n".join(splitted_message[i:])
        try:
            loaded_part = yaml.safe_load(message_part)
        except yaml.YAMLError:
            continue
        if isinstance(loaded_part, dict):
            return loaded_part
    return None


def metadata(doc):
    try:
        return canon(get_metadata_from_message(doc))
    except Exception as exc:  # noqa: BLE001
        return "E:other:%s" % type(exc).__name__


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    fn = load if request["mode"] == "load" else metadata
    out = sys.stdout.buffer
    for doc in request["docs"]:
        record = fn(doc).encode("utf-8")
        out.write(b"%d:" % len(record))
        out.write(record)
    out.flush()


main()
