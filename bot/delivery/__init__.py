"""Timed sends, exactly once: the engine that decides what is due (``engine``), the Discord
sender it hands each send to (``outbox``), and the pacer every request waits on (``pacer``).

``engine`` and ``pacer`` import nothing of discord; only ``outbox`` does.
"""
