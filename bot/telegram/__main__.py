import sys

from ._front_end import main

sys.exit(main())
