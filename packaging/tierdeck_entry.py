"""PyInstaller's entry script: the bundle's `tierdeck` is the same command as the pip one."""

from tierdeck.cli import main

raise SystemExit(main())
