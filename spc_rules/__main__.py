import sys

from spc_rules.cli import main

sys.exit(main())
