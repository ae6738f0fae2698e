"""`python -m tierdeck.cli ...`: how a detached gateway is started (core.gateway.control)."""

from tierdeck.cli import main

raise SystemExit(main())
