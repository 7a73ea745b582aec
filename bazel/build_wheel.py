"""Writes a wheel (PEP 427) from files given as archive-name=path pairs; used by py_wheel.bzl."""

import argparse
import base64
import hashlib
import re
import zipfile

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # reproducible archives


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata(args) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {args.distribution}", f"Version: {args.version}", f"Summary: {args.summary}", "Requires-Python: >=3.9"]
    lines += [f"Requires-Dist: {r}" for r in args.requires]
    for extra in args.extra:
        name, _, requirements = extra.partition("=")
        lines.append(f"Provides-Extra: {name}")
        lines += [f"Requires-Dist: {r.strip()}; extra == \"{name}\"" for r in requirements.split(",") if r.strip()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--output", "--distribution", "--version", "--tag", "--summary"):
        parser.add_argument(flag, required=True)
    for flag in ("--requires", "--extra", "--console_script", "--file"):
        parser.add_argument(flag, action="append", default=[])
    args = parser.parse_args()

    dist_info = f"{re.sub('[^A-Za-z0-9.]+', '_', args.distribution)}-{args.version}.dist-info"
    members = {}
    for item in args.file:
        name, _, path = item.partition("=")
        with open(path, "rb") as f:
            members[name] = f.read()
        if name.rsplit("/", 1)[-1] == "version.py":  # not jax_conversion.py
            declared = re.search(r'version = "([^"]+)"', members[name].decode())
            if not declared or declared.group(1) != args.version:
                raise SystemExit(f"build_wheel: {name} says {declared and declared.group(1)}, BUILD says {args.version}")
    members[f"{dist_info}/METADATA"] = _metadata(args).encode()
    members[f"{dist_info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: bazel/build_wheel.py\nRoot-Is-Purelib: false\nTag: {args.tag}\n".encode()
    members[f"{dist_info}/entry_points.txt"] = ("[console_scripts]\n" + "".join(f"{s.replace('=', ' = ', 1)}\n" for s in args.console_script)).encode()
    record = [_record_line(name, data) for name, data in sorted(members.items())] + [f"{dist_info}/RECORD,,"]
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()

    with zipfile.ZipFile(args.output, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)


if __name__ == "__main__":
    main()
