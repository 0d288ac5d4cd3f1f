import sys

from metadata.inspect.cli import main

sys.exit(main())
