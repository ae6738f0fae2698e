"""A supervising process for the kill -9 test: starts a profile's servers, says so, waits."""

import sys
import time

from tierdeck.core.profiles import load_profile_file
from tierdeck.core.servers.supervisor import Supervisor

profile_path, binary = sys.argv[1], sys.argv[2]
sup = Supervisor(binary=binary)
statuses = sup.up(load_profile_file(profile_path))
print(" ".join(f"{s.state}:{s.pid}" for s in statuses), flush=True)
time.sleep(120)  # killed by the test long before this
