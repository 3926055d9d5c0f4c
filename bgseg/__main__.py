import sys

from bgseg.cli import main

sys.exit(main())
