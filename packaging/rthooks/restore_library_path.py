"""PyInstaller runtime hook: children (llama-server) get the user's library path, not ours.

The bundle's bootloader points LD_LIBRARY_PATH at its own folder, which holds the build
machine's libstdc++, libssl, ... A llama-server built elsewhere (newer GCC, CUDA) started with
that path can fail with "GLIBCXX_... not found". This process already has its libraries
loaded, so changing the variable now only affects the programs it starts.
"""

import os

for var in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
    original = os.environ.pop(var + "_ORIG", None)
    if original is not None:
        os.environ[var] = original
    elif var in os.environ:
        del os.environ[var]
