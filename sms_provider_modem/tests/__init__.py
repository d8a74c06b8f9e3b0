from . import test_install
from . import test_modem_lock
from . import test_modem_mailing
from . import test_modem_provider
from . import test_modem_faults
