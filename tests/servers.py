"""The old name of tests/support/servers.py, for test modules that still import it as a top-level
module: the very same module object, not a copy."""

import sys

from tests.support import servers

sys.modules[__name__] = servers
