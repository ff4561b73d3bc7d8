"""User workloads that misbehave, for the fault tests (gilviz runs them as path.py:function)."""

import os
import pickle
import sys
import threading


def exit_now(n):
    os._exit(n or 3)


def spin_forever(n):
    # Never checks gilviz's cancel flag: only killing its worker ends it.
    x = 0
    while True:
        x += 1


def unpicklable(n):
    return threading.Lock()


def huge(n):
    return b"x" * n


def chatty(n):
    print("chatty says hello on stdout", flush=True)
    print("chatty says hello on stderr", file=sys.stderr, flush=True)
    return n


def pickle_bomb(n):
    class Local:  # defined inside: cannot be pickled by reference
        pass

    return pickle.dumps  # a function is fine; Local() would not be
