"""Runs kolla-build --template-only from a Kolla checkout (its own code, its own defaults) and
prints the wall seconds it took. Run from the checkout's root:

    PBR_VERSION=<version> /usr/bin/python3 bench/kolla_template_only.py WORK_DIR [kolla-build options...]

Needs Debian's python3-pbr python3-jinja2 python3-git python3-oslo.config python3-docker.
"""
import os
import sys
import time

sys.path.insert(0, os.getcwd())

from kolla.cmd.build import main  # noqa: E402

work_dir = sys.argv[1]
sys.argv = ["kolla-build", "--template-only", "--work-dir", work_dir, *sys.argv[2:]]
started = time.monotonic()
status = main()
print(f"{time.monotonic() - started:.3f}")
sys.exit(status or 0)
