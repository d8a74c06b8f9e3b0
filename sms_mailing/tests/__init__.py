from . import test_dispatch
from . import test_core_routing
from . import test_core_retry
