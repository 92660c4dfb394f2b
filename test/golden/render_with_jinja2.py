"""Renders image templates with Python's Jinja2 the way kolla-build sets it up, for the
golden test: a FileSystemLoader at the tree root, the customizable filter reading the
context, raise_error, the image template given to an override as parent_template.

stdin: {"tree": DIR, "images": {name: template_name}, "variables": {...}, "override": TEXT|null}
stdout: {name: rendered}
"""
import json
import sys

import jinja2
from jinja2 import pass_context


@pass_context
def customizable(context, values, kind):
    if isinstance(values, jinja2.Undefined):
        return values
    prefix = context["image_name"].replace("-", "_") + "_" + kind + "_"
    if prefix + "override" in context:
        return context[prefix + "override"]
    if prefix + "append" in context:
        values.extend(context[prefix + "append"])
    if prefix + "remove" in context:
        for item in context[prefix + "remove"]:
            if item in values:
                values.remove(item)
    return values


def raise_error(message):
    raise Exception(message)


def environment(loader):
    env = jinja2.sandbox.SandboxedEnvironment(loader=loader)
    env.filters["customizable"] = customizable
    env.globals["raise_error"] = raise_error
    return env


def main():
    request = json.load(sys.stdin)
    out = {}
    for name, template_name in request["images"].items():
        values = dict(request["variables"], image_name=name)
        template = environment(jinja2.FileSystemLoader(request["tree"])).get_template(template_name)
        if request.get("override"):
            values["parent_template"] = template
            template = environment(jinja2.DictLoader({"override.j2": request["override"]})).get_template("override.j2")
        out[name] = template.render(values)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    import jinja2.sandbox  # noqa: F401  (kolla-build renders in the sandbox)
    main()
