"""``python -m deploy.kubegen [--check]``: write (or, with --check, compare) the generated
manifests under deploy/kubernetes/generated/."""

from __future__ import annotations

import sys

from deploy.kubegen.generate import main

sys.exit(main(sys.argv[1:]))
