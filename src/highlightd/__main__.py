from highlightd.cli import main

raise SystemExit(main())
