from . import test_dispatch
