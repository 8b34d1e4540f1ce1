"""The benchmark: latency, scaling, fan-out, restore and memory of the real bot (see RESULTS.md)."""
