from tierdeck.cli import main

raise SystemExit(main())
