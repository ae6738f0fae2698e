"""A TierDeck process for the kill -9 test: switches a swap pair back and forth until killed."""

import sys

from tierdeck.core.profiles import load_profile_file
from tierdeck.core.servers.supervisor import Supervisor

profile_path, binary, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
prof = load_profile_file(profile_path)
sup = Supervisor(binary=binary)
for i in range(rounds):
    st = sup.switch(prof, "ab"[i % 2])
    print(f"{i} {st.tier} {st.state} {st.pid}", flush=True)
sup.close()
