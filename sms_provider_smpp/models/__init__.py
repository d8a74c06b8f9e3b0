from . import sms_provider
from . import sms_smpp_part
from . import sms_smpp_receipt
