"""A second TierDeck process for the soak test: reads status until told to stop."""

import json
import sys
from pathlib import Path

from tierdeck.core.servers.supervisor import Supervisor

binary, stop_file = sys.argv[1], Path(sys.argv[2])
reads, seen = 0, set()
while not stop_file.exists():
    with Supervisor(binary=binary) as sup:  # adopts, syncs, watches: what `tierdeck status` does
        # as `tierdeck status` does: adopted servers are "starting" until a health poll
        sup.wait("scratch", ("ready",), timeout=5)
        seen.update(f"{s.tier}:{s.state}" for s in sup.status())
    reads += 1
print(json.dumps({"reads": reads, "seen": sorted(seen)}), flush=True)
