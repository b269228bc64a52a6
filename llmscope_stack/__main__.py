import sys

from llmscope_stack.cli import main

sys.exit(main())
