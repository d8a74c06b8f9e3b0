from . import test_smsru_callback
from . import test_smsru_provider
from . import test_smsru_outage
from . import test_smsru_inflight
from . import test_smsru_campaign
from . import test_smsru_rejected_key
