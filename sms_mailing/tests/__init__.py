from . import test_dispatch
from . import test_core_routing
from . import test_core_retry
from . import test_core_concurrency
from . import test_mailing
from . import test_conversation
from . import test_core_status
from . import test_core_partner
