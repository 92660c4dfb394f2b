"""Runs kolla-build --template-only from a Kolla checkout and records, per image, the
template values it rendered with, so ci-builder can render the same tree with the same
values and be compared byte for byte. Run from the checkout's root:

    PBR_VERSION=0.0.0 python3 bench/kolla_values.py OUT.json WORK_DIR BASE

Needs Debian's python3-pbr python3-jinja2 python3-git python3-oslo.config python3-docker.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import jinja2  # noqa: E402

captured = {}
original_render = jinja2.environment.Template.render


def recording_render(self, *args, **kwargs):
    values = dict(args[0]) if args else {}
    name = values.get("image_name")
    if name:
        captured[name] = {key: value for key, value in values.items() if isinstance(value, (str, int, bool, list, dict, type(None)))}
    return original_render(self, *args, **kwargs)


jinja2.environment.Template.render = recording_render

from kolla.cmd.build import main  # noqa: E402

out, work_dir, base = sys.argv[1:4]
sys.argv = ["kolla-build", "--template-only", "--work-dir", work_dir, "--base", base]
started = time.monotonic()
status = main()
elapsed = time.monotonic() - started
with open(out, "w") as handle:
    json.dump({"seconds": elapsed, "status": status, "values": captured}, handle, default=str)
