"""Makes pyScss publish its expression scanner's patterns whole, so threads never see half a list.

pyScss 1.4 (python3-pyscss) builds SassExpressionScanner's regex list on first use: it sets the
class attribute to an empty list, then appends each compiled pattern. Another thread that creates a
scanner meanwhile finds the attribute set, scans with the patterns appended so far and fails, e.g.
"Found 'inline-blo' but expected one of ... BAREWORD ...". openstack-dashboard's post-install step
(Django's `compress`) compiles SCSS in four threads at once, so its first expressions race exactly
there. This rewrites the lazy set-up to assign a complete list in one step, and stops the build when
the code is not the one it knows (a newer pyScss needs this looked at again, not silently skipped).
"""

import py_compile
import sys

import scss.grammar.expression as expression

RACY = """            self.__class__.patterns = []
            for t, p in self._patterns:
                self.patterns.append((t, re.compile(p)))
"""
WHOLE = """            # Assigned whole: another thread must never see a list still being filled.
            self.__class__.patterns = [(t, re.compile(p)) for t, p in self._patterns]
"""

path = expression.__file__
source = open(path, encoding="utf-8").read()
if source.count(RACY) != 1:
    sys.exit(f"{path}: the lazy pattern set-up this fix rewrites is not there; review images/horizon")
with open(path, "w", encoding="utf-8") as patched:
    patched.write(source.replace(RACY, WHOLE))
py_compile.compile(path, doraise=True)
print(f"{path}: scanner patterns are now assigned whole")
