"""`python -m api.cli`: the same as the `hoso` script."""

from api.cli import main

main()
