"""llama-server processes: finding the binary, command lines, supervision, registry, logs."""
