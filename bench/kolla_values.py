"""Runs kolla-build --template-only from a Kolla checkout, times it, and records the settings
it rendered with (the values that do not depend on the image: namespace, tag, maintainer,
release and codename, base image, users table …) and the images it leaves out as
unbuildable for the base, so ci-builder can be configured the same
way and its output compared byte for byte. Run from the checkout's root:

    PBR_VERSION=0.0.0 /usr/bin/python3 bench/kolla_values.py OUT.json WORK_DIR BASE REGISTRY

Needs Debian's python3-pbr python3-jinja2 python3-git python3-oslo.config python3-docker.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import jinja2  # noqa: E402

settings = {}
original_render = jinja2.environment.Template.render


def recording_render(self, *args, **kwargs):
    values = dict(args[0]) if args else {}
    if values.get("image_name") and not settings:
        settings.update({key: value for key, value in values.items() if key != "image_name" and isinstance(value, (str, int, bool, list, dict, type(None)))})
    return original_render(self, *args, **kwargs)


jinja2.environment.Template.render = recording_render

from kolla.cmd.build import main  # noqa: E402
from kolla.image import kolla_worker  # noqa: E402

unbuildable = []
original_filter = kolla_worker.KollaWorker.filter_images


def recording_filter(self):
    # The images kolla-build leaves out for this base (its unbuildable table and their children).
    result = original_filter(self)
    unbuildable.extend(sorted(image.name for image in self.images if image.status == kolla_worker.Status.UNBUILDABLE))
    return result


kolla_worker.KollaWorker.filter_images = recording_filter

out, work_dir, base, registry = sys.argv[1:5]
sys.argv = ["kolla-build", "--template-only", "--work-dir", work_dir, "--base", base, "--registry", registry]
started = time.monotonic()
status = main()
elapsed = time.monotonic() - started
with open(out, "w") as handle:
    json.dump({"seconds": elapsed, "status": status, "settings": settings, "unbuildable": unbuildable}, handle, default=str)
