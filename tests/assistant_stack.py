"""The old name of tests/support/assistant_stack.py, for test modules that still import it as a top-level
module: the very same module object, not a copy."""

import sys

from tests.support import assistant_stack

sys.modules[__name__] = assistant_stack
